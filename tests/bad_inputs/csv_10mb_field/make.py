with open("big.csv", "w") as f:
    f.write("time,a\n2020-01-01,1\n2020-01-02," + "7" * (10 << 20) + "\n2020-01-03,3\n")
