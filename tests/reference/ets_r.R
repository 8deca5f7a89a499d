# Reference fits for tests/lib/model/test_ets_r.c from R's forecast package (Debian's
# r-cran-forecast). Two modes:
#
#   Rscript ets_r.R fit SERIES OUT
#     SERIES: lines "name m y1 y2 ...". Appends seeded simulated series (sim_* below) to them,
#     and writes to OUT, per series:
#       series NAME M y1 ...                 the values (so the C side fits the same data)
#       auto NAME MODEL LOGLIK AICC f1 ...   ets(y) and its point forecasts (see pf)
#       model NAME MODEL LOGLIK AICC         ets(y, model, damped) for the 15 models
#       theta NAME SEASONAL ALPHA DRIFT f1 ...   thetaf(y, h)$mean
#   Rscript ets_r.R eval SERIES PARAMS OUT
#     PARAMS: lines "name MODEL m alpha beta gamma phi x1 x2 ..." (x: the full initial state).
#     Writes "eval NAME MODEL LOGLIK f1 ..." from forecast's own likelihood code (etscalc through
#     forecast:::pegelsresid.C) at those parameters.
#
# Point forecasts (pf) are computed here from the final state with the formulas of Hyndman et
# al. (2008): (l + phi_h b) (+ or *) s. forecast.ets's mean equals them for models with
# additive season or additive errors; for ETS(M,*,M) it adds a sigma^2 term past one season
# (and uses l + b for damped trends in that term), so pf is the like-for-like reference.
suppressMessages(library(forecast))
args <- commandArgs(TRUE)
H <- function(m) max(2 * m, 10)

pf <- function(x, comp, m, phi, h) {
  # x: final state (l, b?, s1..sm), comp: c(error, trend, season)
  nt <- comp[2] != "N"
  l <- x[1]; b <- if (nt) x[2] else 0
  s <- if (comp[3] != "N") x[(2 + nt):length(x)] else NULL
  f <- numeric(h)
  for (i in 1:h) {
    ph <- if (nt) sum(phi ^ (1:i)) else 0
    f[i] <- l + ph * b
    if (comp[3] != "N") {
      si <- s[m - ((i - 1) %% m)]
      f[i] <- if (comp[3] == "A") f[i] + si else f[i] * si
    }
  }
  f
}

sim <- function(seed, n, m, err, trend, damped, season, alpha, beta, gamma, phi, l, b, s, sigma) {
  set.seed(seed)
  y <- numeric(n)
  if (!damped) phi <- 1
  if (trend == "N") { b <- 0; beta <- 0 }
  for (t in 1:n) {
    q <- l + phi * b
    so <- if (season != "N") s[m] else 0
    mu <- if (season == "A") q + so else if (season == "M") q * so else q
    z <- rnorm(1)
    y[t] <- if (err == "A") mu + sigma * z else mu * (1 + sigma * z)
    p <- if (season == "A") y[t] - so else if (season == "M") y[t] / so else y[t]
    ln <- q + alpha * (p - q)
    b <- phi * b + beta * (ln - l - phi * b)
    if (season != "N") {
      tt <- if (season == "A") y[t] - q else y[t] / q
      s <- c(so + gamma * (tt - so), s[-m])
    }
    l <- ln
  }
  y
}

read_series <- function(path) {
  out <- list()
  for (ln in readLines(path)) {
    w <- strsplit(ln, " +")[[1]]
    out[[w[1]]] <- list(m = as.integer(w[2]), y = as.numeric(w[-(1:2)]))
  }
  out
}

fmt <- function(v) paste(sprintf("%.17g", v), collapse = " ")

if (args[1] == "fit") {
  S <- read_series(args[2])
  sa <- 10 * sin(2 * pi * (1:12) / 12)
  S$sim_ANA <- list(m = 12L, y = sim(1, 96, 12, "A", "N", FALSE, "A", 0.3, 0, 0.1, 1, 100, 0, sa, 2))
  S$sim_MAM <- list(m = 12L, y = sim(2, 144, 12, "M", "A", FALSE, "M", 0.4, 0.05, 0.1, 1, 200, 1,
                                     1 + 0.2 * sin(2 * pi * (1:12) / 12), 0.03))
  S$sim_AAdN <- list(m = 1L, y = sim(3, 100, 1, "A", "A", TRUE, "N", 0.5, 0.1, 0, 0.9, 50, 1, 0, 1))
  S$sim_MAdM <- list(m = 4L, y = sim(4, 80, 4, "M", "A", TRUE, "M", 0.3, 0.05, 0.1, 0.95, 100, 2,
                                     c(0.9, 1.1, 1.2, 0.8), 0.02))
  S$sim_MNN <- list(m = 1L, y = sim(5, 60, 1, "M", "N", FALSE, "N", 0.6, 0, 0, 1, 20, 0, 0, 0.05))
  S$sim_AAA_short <- list(m = 12L, y = sim(6, 30, 12, "A", "A", FALSE, "A", 0.2, 0.05, 0.1, 1, 50,
                                           0.5, 0.5 * sa, 1))
  S$sim_MNA <- list(m = 4L, y = sim(7, 60, 4, "M", "N", FALSE, "A", 0.4, 0, 0.2, 1, 80, 0,
                                    c(-6, 2, 8, -4), 0.03))
  models <- c("ANN", "AAN", "AAdN", "ANA", "AAA", "AAdA", "MNN", "MAN", "MAdN", "MNA", "MAA",
              "MAdA", "MNM", "MAM", "MAdM")
  con <- file(args[3], "w")
  for (nm in names(S)) {
    m <- S[[nm]]$m; y <- ts(S[[nm]]$y, frequency = m); h <- H(m)
    writeLines(paste("series", nm, m, fmt(S[[nm]]$y)), con)
    fit <- ets(y)
    comp <- fit$components
    mod <- paste0(comp[1], comp[2], if (comp[4] == "TRUE") "d" else "", comp[3])
    phi <- if (comp[4] == "TRUE") fit$par["phi"] else 1
    f <- pf(fit$states[length(y) + 1, ], comp, m, phi, h)
    writeLines(paste("auto", nm, mod, fmt(fit$loglik), fmt(fit$aicc), fmt(f)), con)
    for (md in models) {
      d <- grepl("d", md)
      r <- tryCatch(ets(y, model = sub("d", "", md), damped = d), error = function(e) NULL)
      if (!is.null(r) && !is.null(r$loglik))
        writeLines(paste("model", nm, md, fmt(r$loglik), fmt(r$aicc)), con)
    }
    th <- thetaf(y, h = h)
    seasonal <- 0L # thetaf's own test, repeated to report it
    if (m > 1 && !forecast:::is.constant(y) && length(y) > 2 * m) {
      r <- as.numeric(acf(y, lag.max = m, plot = FALSE)$acf)[-1]
      stat <- sqrt((1 + 2 * sum(r[-m]^2)) / length(y))
      seasonal <- as.integer(abs(r[m]) / stat > qnorm(0.95))
    }
    writeLines(paste("theta", nm, seasonal, fmt(th$model$alpha), fmt(th$model$drift),
                     fmt(as.numeric(th$mean))), con)
  }
  close(con)
} else if (args[1] == "eval") {
  S <- read_series(args[2])
  con <- file(args[4], "w")
  for (ln in readLines(args[3])) {
    w <- strsplit(ln, " +")[[1]]
    nm <- w[1]; md <- w[2]; m <- as.integer(w[3]); p <- as.numeric(w[4:7])
    x <- as.numeric(w[-(1:7)])
    comp <- c(substr(md, 1, 1), substr(md, 2, 2), substr(md, nchar(md), nchar(md)))
    damped <- grepl("d", md)
    y <- S[[nm]]$y
    e <- forecast:::pegelsresid.C(y, if (comp[3] == "N") 1 else m, x, comp[1], comp[2], comp[3],
                                  damped, p[1], p[2], p[3], p[4], 3)
    f <- pf(e$states[length(y) + 1, ], comp, m, if (damped) p[4] else 1, H(m))
    writeLines(paste("eval", nm, md, fmt(-0.5 * e$lik), fmt(f)), con)
  }
  close(con)
}
