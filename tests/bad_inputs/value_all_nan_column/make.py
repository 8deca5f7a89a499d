import math
with open("data.csv", "w") as f:
    f.write("time,load,level\n")
    for i in range(100):
        f.write(f"2020-01-{1 + i // 24:02d} {i % 24:02d}:00,{math.sin(i / 5):.4f},NA\n")
