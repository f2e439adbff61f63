"""The reference floors: a tiny C extension of our own (floor.c), built on demand by build.py."""
