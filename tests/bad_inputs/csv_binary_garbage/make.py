import random
random.seed(7)
open("garbage.csv", "wb").write(bytes(random.randrange(256) for _ in range(3000)))
