# Reference output for Firth's bias-reduced (penalized-likelihood) logistic regression.
#
# Run from the repository root:
#
#     Rscript validation/r/firth_reference.R
#
# Inputs:  validation/data/firth_<name>.csv  (separated, mtcars, pima written by Python;
#          sex2 written by this script from logistf's bundled data when logistf is installed)
# Outputs: validation/r/results/firth_<name>_<what>.csv, all numbers with 17 significant digits:
#   coef         term, estimate, std_error   Firth estimate; SE = sqrt(diag((X'WX)^-1)) with W
#                                            evaluated at the Firth estimate (logistf's vcov)
#   confint      term, lower, upper          95% profile penalized-likelihood intervals:
#                                            {b : 2 (pl(beta_hat) - max_{beta: beta_j = b} pl(beta))
#                                                 <= qchisq(0.95, 1)}
#   loglik       model, loglik               penalized log-likelihood
#                                            pl(beta) = l(beta) + 0.5 log det(X'W(beta)X)
#                                            for "full" (all coefficients free) and "null"
#                                            (intercept free, all slopes fixed at 0, penalty
#                                            still from the full design matrix, as logistf's
#                                            fit$loglik = c(null, full))
#   brglm2_coef  term, estimate, std_error   glm(method = "brglmFit", type = "AS_mean"), which
#                                            for the logit link is Firth's estimator
# plus validation/r/results/firth_sessioninfo.txt (sessionInfo() and which code produced what).
#
# Implementations:
#   * If the R package logistf is installed, coef/confint/loglik come from
#       logistf(formula, data, control = logistf.control(xconv = 1e-12, gconv = 1e-12, maxit = 200),
#               plcontrol = logistpl.control(xconv = 1e-10, maxit = 1000))
#     (coef(fit), sqrt(diag(vcov(fit))), fit$ci.lower/fit$ci.upper, fit$loglik).
#   * Otherwise (logistf is not packaged for Debian; only r-cran-brglm2 is) they come from the
#     self-contained implementation below (firth_fit / firth_profile_ci), which follows
#     logistf's definitions: penalized Newton-Raphson with step halving on pl, stopped when the
#     largest step is < 1e-13 (1 + |beta|) and the largest modified score is < 1e-9; profile
#     limits found by uniroot(tol = 1e-13 (1 + |limit|)) on the profile penalized deviance,
#     then polished by Newton steps using d pl_j(b)/db = U*_j (the modified score of the fixed
#     coefficient at the constrained maximum); each evaluation is a constrained penalized fit
#     with the same tolerances (maxit 5000).  The point
#     estimates are cross-checked against brglm2 (script stops if they differ by > 1e-8 rel.).
#   * brglm2: glm(formula, family = binomial, data, method = "brglmFit", type = "AS_mean",
#                 epsilon = 1e-12, maxit = 200).

options(warn = 1)
out_dir <- file.path("validation", "r", "results")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

has_logistf <- requireNamespace("logistf", quietly = TRUE)
has_brglm2 <- requireNamespace("brglm2", quietly = TRUE)
if (!has_logistf && !has_brglm2) stop("neither logistf nor brglm2 is installed")

fmt <- function(v) if (is.numeric(v)) sprintf("%.17g", v) else v
write_out <- function(df, name, what) {
  df[] <- lapply(df, fmt)
  write.csv(df, file.path(out_dir, sprintf("firth_%s_%s.csv", name, what)),
            row.names = FALSE, quote = FALSE)
}

## ---- self-contained Firth logistic regression (used when logistf is missing) -----------
pen_loglik <- function(X, y, beta) {
  eta <- drop(X %*% beta)
  p <- plogis(eta)
  w <- p * (1 - p)
  l <- sum(y * plogis(eta, log.p = TRUE) + (1 - y) * plogis(-eta, log.p = TRUE))
  info <- crossprod(X * sqrt(w))
  ld <- determinant(info, logarithm = TRUE)$modulus[1]
  list(pl = l + 0.5 * ld, l = l, p = p, w = w, info = info)
}

# Maximize pl over the columns in `free`; the others stay at their values in `beta`.
firth_fit <- function(X, y, beta, free = seq_len(ncol(X)), maxit = 5000) {
  cur <- pen_loglik(X, y, beta)
  for (it in seq_len(maxit)) {
    inv <- solve(cur$info)
    h <- rowSums((X %*% inv) * X) * cur$w                 # hat diagonal of W^1/2 X
    U <- drop(crossprod(X, y - cur$p + h * (0.5 - cur$p))) # Firth-modified score
    Uf <- U[free]
    step <- numeric(ncol(X))
    step[free] <- solve(cur$info[free, free, drop = FALSE], Uf)
    done <- max(abs(step)) < 1e-13 * (1 + max(abs(beta))) && max(abs(Uf)) < 1e-9
    if (done) break
    t <- 1
    repeat {                                               # step halving on pl
      new <- pen_loglik(X, y, beta + t * step)
      if (new$pl >= cur$pl - 1e-12 * abs(cur$pl) || t < 1e-8) break
      t <- t / 2
    }
    beta <- beta + t * step
    cur <- new
  }
  if (it == maxit) warning("firth_fit: no convergence")
  list(beta = beta, pl = cur$pl, U = U, info = cur$info, iter = it)
}

firth_profile_ci <- function(X, y, fit, j, level = 0.95) {
  crit <- qchisq(level, 1)
  se <- sqrt(diag(solve(fit$info)))[j]
  start <- fit$beta
  f <- function(b) {
    s <- start; s[j] <- b
    2 * (fit$pl - firth_fit(X, y, s, free = setdiff(seq_len(ncol(X)), j))$pl) - crit
  }
  lim <- c(NA_real_, NA_real_)
  for (side in c(-1, 1)) {
    k <- 1
    repeat {                                               # bracket the crossing
      b <- fit$beta[j] + side * k * se
      if (f(b) > 0) break
      k <- 2 * k
      if (k > 2^20) stop("profile limit not bracketed")
    }
    ends <- sort(c(fit$beta[j], b))
    r <- uniroot(f, ends, tol = 1e-13 * (1 + abs(b)), maxiter = 2000)$root
    for (pol in 1:5) {                                     # Newton polish: d pl_j / db = U*_j
      s <- start; s[j] <- r
      cf <- firth_fit(X, y, s, free = setdiff(seq_len(ncol(X)), j))
      delta <- (2 * (fit$pl - cf$pl) - crit) / (-2 * cf$U[j])
      r <- r - delta
      if (abs(delta) <= 1e-15 * abs(r)) break
    }
    lim[(side + 3) / 2] <- r
  }
  lim
}

## ---- data sets ----------------------------------------------------------------------------
cases <- list(
  separated = list(formula = y ~ x),
  mtcars = list(formula = am ~ hp + wt),
  pima = list(formula = diabetes ~ glucose + bmi + pedigree + age)
)
if (has_logistf) {
  data(sex2, package = "logistf", envir = environment())
  write.csv(sex2, file.path("validation", "data", "firth_sex2.csv"), row.names = FALSE)
  cases$sex2 <- list(formula = case ~ age + oc + vic + vicl + vis + dia)
}

provenance <- character()
for (name in names(cases)) {
  message("fitting ", name)
  d <- read.csv(file.path("validation", "data", sprintf("firth_%s.csv", name)))
  form <- cases[[name]]$formula
  X <- model.matrix(form, d)
  y <- model.response(model.frame(form, d))
  terms <- colnames(X)

  if (has_logistf) {
    fit <- logistf::logistf(form, data = d,
      control = logistf::logistf.control(xconv = 1e-12, gconv = 1e-12, maxit = 200),
      plcontrol = logistf::logistpl.control(xconv = 1e-10, maxit = 1000))
    est <- coef(fit); se <- sqrt(diag(vcov(fit)))
    lo <- fit$ci.lower; hi <- fit$ci.upper
    ll <- c(full = fit$loglik[2], null = fit$loglik[1])
    provenance <- c(provenance, sprintf("%s: coef/confint/loglik from logistf %s", name,
                                        packageVersion("logistf")))
  } else {
    fit <- firth_fit(X, y, rep(0, ncol(X)))
    est <- fit$beta; se <- sqrt(diag(solve(fit$info)))
    ci <- t(sapply(seq_along(terms), function(j) firth_profile_ci(X, y, fit, j)))
    lo <- ci[, 1]; hi <- ci[, 2]
    null <- firth_fit(X, y, rep(0, ncol(X)), free = 1)
    ll <- c(full = fit$pl, null = null$pl)
    provenance <- c(provenance, sprintf(
      "%s: coef/confint/loglik from the self-contained implementation in firth_reference.R (logistf not installed); %d iterations, max |modified score| %.3g",
      name, fit$iter, max(abs(fit$U))))
  }
  write_out(data.frame(term = terms, estimate = unname(est), std_error = unname(se)), name, "coef")
  write_out(data.frame(term = terms, lower = unname(lo), upper = unname(hi)), name, "confint")
  write_out(data.frame(model = names(ll), loglik = unname(ll)), name, "loglik")

  if (has_brglm2) {
    bfit <- glm(form, family = binomial, data = d, method = brglm2::brglmFit,
                type = "AS_mean", epsilon = 1e-12, maxit = 200)
    bsum <- summary(bfit)$coefficients
    write_out(data.frame(term = rownames(bsum), estimate = bsum[, 1], std_error = bsum[, 2]),
              name, "brglm2_coef")
    rel <- max(abs(bsum[, 1] - est) / pmax(1, abs(est)))
    rel_se <- max(abs(bsum[, 2] - se) / se)
    provenance <- c(provenance, sprintf(
      "%s: brglm2 vs %s max rel diff: estimate %.3g, std_error %.3g (brglm2 iterations %d, converged %s)",
      name, if (has_logistf) "logistf" else "self-contained", rel, rel_se, bfit$iter,
      bfit$converged))
    if (!has_logistf && rel > 1e-8) stop("brglm2 and the self-contained fit disagree for ", name)
  }
}

writeLines(c("Produced by validation/r/firth_reference.R", provenance, "",
             capture.output(sessionInfo())),
           file.path(out_dir, "firth_sessioninfo.txt"))
message(paste(provenance, collapse = "\n"))
