import math, os, stat, socket, sys
def data(name="data.csv", rows=120):
    with open(name, "w") as f:
        f.write("time,load\n")
        for i in range(rows):
            f.write(f"2020-01-{1 + i // 24:02d} {i % 24:02d}:00,{50 + 10 * math.sin(i / 5):.4f}\n")
data()
os.symlink("a.csv", "b.csv")  # dangling: the output creates a.csv
