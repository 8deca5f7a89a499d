import math
with open("data.csv", "w") as f:
    f.write("time,load,temp\n")
    for i in range(300):
        f.write(f"2020-01-{1 + i // 24:02d} {i % 24:02d}:00,{math.sin(i / 5) * 10 + 50:.4f},"
                f"{math.cos(i / 7):.4f}\n")
