import math
with open("data.csv", "w") as f:
    f.write("time,load\n")
    for i in range(100):
        v = "inf" if i == 30 else f"{math.sin(i / 5):.4f}"
        f.write(f"2020-01-{1 + i // 24:02d} {i % 24:02d}:00,{v}\n")
