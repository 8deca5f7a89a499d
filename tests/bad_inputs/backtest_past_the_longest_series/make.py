import math
with open("data.csv", "w") as f:
    f.write("site,time,load\n")
    for site, n in (("north", 300), ("south", 200)):
        for i in range(n):
            f.write(f"{site},2020-01-{1 + i // 24:02d} {i % 24:02d}:00,{math.sin(i / 5) * 10 + 50:.4f}\n")
