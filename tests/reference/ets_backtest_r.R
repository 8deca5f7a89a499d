# tsflow's ets and theta baselines against R's forecast::ets and forecast::thetaf on a rolling
# origin backtest: horizon one season, three origins one season apart (n - 3m, n - 2m, n - m),
# expanding window, refit at every origin. tsflow runs its backtest stage through `tsflow run`;
# R refits at the same origins; both are scored here with the same MASE (R's accuracy(): mean
# absolute error over the mean absolute seasonal difference of the rows before the origin),
# averaged over the folds of a series. A measurement, not a pass/fail test:
#
#   Rscript tests/reference/ets_backtest_r.R build/pipeline/cli/tsflow . /tmp/etsbt
#
# Series: the shipped Mauna Loa CO2 aggregated to monthly means (a month without a
# measurement interpolated), and monthly and quarterly series from R's datasets package.
suppressMessages(library(forecast))
args <- commandArgs(TRUE)
tsflow <- args[1]; root <- args[2]; dir <- args[3]
dir.create(dir, showWarnings = FALSE, recursive = TRUE)

co2w <- read.csv(file.path(root, "datasets/mauna_loa_co2/co2_weekly.csv"))
mon <- substr(co2w$date, 1, 7)
co2m <- tapply(co2w$co2, factor(mon, levels = unique(mon)), function(v) mean(v, na.rm = TRUE))
co2m[is.nan(co2m)] <- NA
co2m <- approx(seq_along(co2m), co2m, seq_along(co2m))$y

S <- list(co2_monthly = ts(co2m, frequency = 12), AirPassengers = AirPassengers,
          USAccDeaths = USAccDeaths, nottem = nottem, UKDriverDeaths = UKDriverDeaths,
          UKgas = UKgas, JohnsonJohnson = JohnsonJohnson, austres = austres)

mase <- function(train, actual, f, m) mean(abs(actual - f)) / mean(abs(diff(train, lag = m)))

rows <- list()
for (nm in names(S)) {
  y <- as.numeric(S[[nm]]); m <- frequency(S[[nm]]); n <- length(y)
  csv <- file.path(dir, paste0(nm, ".csv")); out <- file.path(dir, paste0(nm, "_fc.csv"))
  write.csv(data.frame(y = y), csv, row.names = FALSE, quote = FALSE)
  ini <- file.path(dir, paste0(nm, ".ini"))
  writeLines(c("[data]", "stage = ingest.csv", sprintf("path = \"%s\"", csv), "no_time = true", "",
               "[backtest]", "stage = backtest", "inputs = data", sprintf("horizon = %d", m),
               sprintf("stride = %d", m), sprintf("season = %d", m),
               sprintf("train_length = %d", n - 3 * m), "baselines = snaive, ets, theta", "",
               "[csv]", "stage = export.csv", "input = backtest.forecasts",
               sprintf("path = \"%s\"", out)), ini)
  t0 <- Sys.time()
  st <- system2(tsflow, c("run", ini), stdout = FALSE, stderr = FALSE)
  t_tsf <- as.numeric(Sys.time() - t0, units = "secs")
  if (st != 0) stop("tsflow run ", ini, " failed")
  fc <- read.csv(out)
  sc <- matrix(NA, 3, 5, dimnames = list(NULL, c("snaive", "ets_tsflow", "ets_R", "theta_tsflow", "theta_R")))
  t_r <- 0
  for (k in 0:2) {
    o <- n - (3 - k) * m
    d <- fc[fc$fold == k, ]; d <- d[order(d$step), ]
    stopifnot(nrow(d) == m, d$origin[1] == o)
    train <- ts(y[1:o], frequency = m); actual <- y[(o + 1):(o + m)]
    t0 <- Sys.time()
    fr <- forecast(ets(train), h = m, PI = FALSE)$mean
    th <- thetaf(train, h = m)$mean
    t_r <- t_r + as.numeric(Sys.time() - t0, units = "secs")
    sc[k + 1, ] <- c(mase(train, actual, d$snaive, m), mase(train, actual, d$ets, m),
                     mase(train, actual, fr, m), mase(train, actual, d$theta, m),
                     mase(train, actual, th, m))
  }
  rows[[nm]] <- c(m = m, n = n, colMeans(sc), sec_tsflow = t_tsf, sec_R = t_r)
}
tab <- do.call(rbind, rows)
tab <- rbind(tab, mean = c(NA, NA, colMeans(tab[, 3:7]), NA, NA))
print(round(tab, 4))
cat(sprintf("\nmean MASE: ets tsflow %.4f vs R %.4f (%+.2f%%); theta tsflow %.4f vs R %.4f (%+.2f%%)\n",
            tab["mean", "ets_tsflow"], tab["mean", "ets_R"],
            100 * (tab["mean", "ets_tsflow"] / tab["mean", "ets_R"] - 1),
            tab["mean", "theta_tsflow"], tab["mean", "theta_R"],
            100 * (tab["mean", "theta_tsflow"] / tab["mean", "theta_R"] - 1)))
