"""Programs the live view's tests run: bounded in time, ended early by a stop file."""

TWO_THREADS = '''
import os, sys, threading, time

STOP = sys.argv[1]
DEADLINE = time.time() + 25

def crunch(n):
    total = 0
    for i in range(n):
        total += i % 7
    return total

def spin():
    while not os.path.exists(STOP) and time.time() < DEADLINE:
        crunch(300)
        time.sleep(0.002)

workers = [threading.Thread(target=spin, name=name) for name in ("alpha-worker", "beta-worker")]
for worker in workers:
    worker.start()
while not os.path.exists(STOP) and time.time() < DEADLINE:
    time.sleep(0.05)
for worker in workers:
    worker.join()
print("done")
'''

SHORT = '''
def square_all(values):
    return [value * value for value in values]

total = 0
for _ in range(200):
    total += sum(square_all(range(50)))
print(total)
'''

# A loop run 1,100,000 times (a 7-digit hit count), then a second file imported when asked (a file that
# appears on the index while the program runs), then both files' lines hit until the stop file.
GROWING = '''
import os, sys, time

LATER, STOP = sys.argv[1], sys.argv[2]
DEADLINE = time.time() + 25
total = 0
for i in range(1_100_000):
    total += 1  # the counted loop
while not os.path.exists(LATER) and time.time() < DEADLINE:
    time.sleep(0.01)  # before the second file
import second
while not os.path.exists(STOP) and time.time() < DEADLINE:
    second.work()
    time.sleep(0.01)
print("done")
'''

SECOND = '''
def work():
    return sum(range(50))
'''
