"""sys.exit() three frames down: SystemExit unwinds everything, main() included."""

import sys


def level3(code):
    sys.exit(code)


def level2(code):
    level3(code)


def level1(code):
    try:
        level2(code)
    finally:
        pass


def main():
    level1(3)
