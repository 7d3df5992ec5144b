# Reference output for validating robust covariances, profile-likelihood
# confidence intervals and likelihood-ratio tests of GLMs against R.
#
# Run from the repository root:  Rscript validation/r/edge_reference.R
# (R 4.2 with sandwich and MASS; sessionInfo is written next to the results).
#
# Reads validation/data/edge_<name>.csv, exported from the bundled datasets with
#   import expfam as ef
#   for n in ["mtcars", "pima", "warpbreaks"]:
#       ef.datasets.load(n).to_csv(f"validation/data/edge_{n}.csv", index=False)
# and fits with glm(), convergence tightened to epsilon = 1e-14 and then refit
# with start = the estimate, so that the reported covariances, hat values and
# profiles are evaluated at the MLE (to ~1e-13) rather than at the working
# weights of the iteration before last (see polish() below):
#   mtcars_logit        am ~ hp + wt, binomial                       clusters: cyl
#                       restricted: am ~ hp
#   pima_logit          I(diabetes == "Yes") ~ glucose + bmi + pedigree + age,
#                       binomial                                     clusters: pregnancies
#                       restricted: I(diabetes == "Yes") ~ glucose + bmi
#   warpbreaks_poisson  breaks ~ wool + tension, poisson             clusters: tension
#                       restricted: breaks ~ wool
# (wool levels A, B and tension levels L, M, H, as in R's datasets; read.csv
# would otherwise sort them alphabetically.)
#
# For each full model it writes validation/r/results/edge_<name>_<what>.csv,
# every double formatted with sprintf("%.17g") (round-trips exactly):
#   coef                term, estimate, std_error (model-based: sqrt(diag(vcov(fit))))
#   vcov_HC0..vcov_HC3  sandwich::vcovHC(fit, type = "HC0".."HC3"): a term x term
#                       matrix, first column `term` then one column per term.
#                       HC1 scales HC0 by n/(n - k); HC2/HC3 divide the score
#                       of observation i by sqrt(1 - h_i) / (1 - h_i), h = hatvalues(fit).
#   vcov_CL             sandwich::vcovCL(fit, cluster = ~ <cluster var>) with all
#                       defaults.  NOTE: in the installed sandwich (3.0-2) the
#                       default `type` is "HC1" only for objects whose first class
#                       is "lm"; for a glm it is "HC0", so the default adjustment
#                       is cadjust = TRUE alone, i.e. G/(G - 1), with NO
#                       (n - 1)/(n - k) factor.  (Checked below.)
#                       For warpbreaks_poisson the clusters are the levels of the
#                       regressor tension: with the canonical link the scores of
#                       tensionM/tensionH sum to zero within every cluster, so
#                       their rows/columns of vcov_CL* are exactly zero in theory
#                       and what is stored there (|entry| < 1e-15) is rounding
#                       noise; compare those entries with an absolute tolerance.
#                       mtcars_logit has G = 3 clusters for k = 3 coefficients, so
#                       its vcov_CL* are singular (rank <= G - 1 = 2).
#   vcov_CL_HC1         sandwich::vcovCL(fit, cluster = ~ <cluster var>, type = "HC1"):
#                       G/(G - 1) * (n - 1)/(n - k), the Stata / statsmodels
#                       (use_correction=True) convention.  Same layout as vcov_HC*.
#   confint_profile     confint(fit) (level 0.95): profile likelihood, computed by
#                       MASS's confint.glm/profile.glm in R 4.2 (spline
#                       interpolation through a grid of profile points); columns
#                       term, lower, upper
#   confint_profile_90  the same with level = 0.90
#                       (profiling mtcars_logit far out warns "fitted probabilities
#                       numerically 0 or 1 occurred"; expected, as am is nearly
#                       separated by hp and wt)
#   lrtest              anova(restricted, fit, test = "Chisq"): one row with
#                       deviance (restricted minus full deviance), df,
#                       p_value (upper chi-square tail), resid_df_restricted,
#                       resid_dev_restricted, resid_df_full, resid_dev_full
#   hat                 hatvalues(fit): obs (1-based row of the data file), hat
# and validation/r/results/edge_sessioninfo.txt (sessionInfo() and the
# versions of sandwich and MASS).

suppressPackageStartupMessages({
  library(sandwich)
  library(MASS)
})
options(digits = 17)

data_dir <- file.path("validation", "data")
out_dir <- file.path("validation", "r", "results")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
ctl <- glm.control(epsilon = 1e-14, maxit = 100)

save <- function(df, name, what) {
  num <- vapply(df, is.double, logical(1))
  df[num] <- lapply(df[num], function(x) sprintf("%.17g", x))
  # quote only the text columns (term names); numbers stay unquoted
  quote <- which(vapply(df, function(x) is.character(x) || is.factor(x), logical(1)) & !num)
  write.csv(df, file.path(out_dir, paste0("edge_", name, "_", what, ".csv")),
            row.names = FALSE, quote = if (length(quote)) quote else FALSE)
}

save_matrix <- function(m, name, what) {
  stopifnot(identical(rownames(m), colnames(m)))
  df <- data.frame(term = rownames(m), unclass(m), check.names = FALSE,
                   stringsAsFactors = FALSE)
  save(df, name, what)
}

run <- function(name, file, full, restricted, family, cluster, prepare = identity) {
  d <- prepare(read.csv(file.path(data_dir, paste0("edge_", file, ".csv"))))
  # Formulas get this function's environment so that vcovCL's
  # expand.model.frame() finds `d` when it evaluates the cluster formula.
  env <- environment()
  # Fit, then refit from the estimate: glm() keeps the working weights (and
  # so vcov, vcovHC, hatvalues) of the iteration before the last, and with a
  # deviance-based stopping rule that iterate can still be ~1e-7 from the MLE
  # (mtcars_logit without this step: hatvalues and vcovHC off by ~5e-7).
  # Started at the MLE, the single iteration's weights are those at the MLE.
  polish <- function(formula) {
    f0 <- glm(formula, family = family, data = d, control = ctl)
    f1 <- glm(formula, family = family, data = d, control = ctl, start = coef(f0))
    stopifnot(f0$converged, f1$converged,
              isTRUE(all.equal(coef(f0), coef(f1), tolerance = 1e-12)))
    f1
  }
  fit <- polish(as.formula(full, env = env))
  small <- polish(as.formula(restricted, env = env))
  stopifnot(fit$converged, small$converged, !any(is.na(coef(fit))))
  n <- nobs(fit)
  k <- length(coef(fit))

  save(data.frame(term = names(coef(fit)), estimate = unname(coef(fit)),
                  std_error = unname(sqrt(diag(vcov(fit)))), stringsAsFactors = FALSE),
       name, "coef")

  for (type in c("HC0", "HC1", "HC2", "HC3")) {
    save_matrix(vcovHC(fit, type = type), name, paste0("vcov_", type))
  }

  cl_formula <- as.formula(paste("~", cluster), env = env)
  v_cl <- vcovCL(fit, cluster = cl_formula)
  v_cl_hc1 <- vcovCL(fit, cluster = cl_formula, type = "HC1")
  # The cluster formula picks up the intended grouping ...
  stopifnot(isTRUE(all.equal(v_cl, vcovCL(fit, cluster = d[[cluster]]), tolerance = 1e-15)))
  # ... the default is G/(G - 1) on top of HC0 (meat = sum of cluster score
  # outer products) ...
  g <- length(unique(d[[cluster]]))
  scores <- rowsum(estfun(fit), d[[cluster]])
  manual <- bread(fit) %*% (crossprod(scores) / n) %*% bread(fit) / n * g / (g - 1)
  stopifnot(isTRUE(all.equal(unclass(v_cl), manual, tolerance = 1e-10, check.attributes = FALSE)))
  # ... and type = "HC1" adds (n - 1)/(n - k).
  stopifnot(isTRUE(all.equal(v_cl_hc1, v_cl * (n - 1) / (n - k), tolerance = 1e-12)))
  save_matrix(v_cl, name, "vcov_CL")
  save_matrix(v_cl_hc1, name, "vcov_CL_HC1")

  for (level in c(0.95, 0.90)) {
    ci <- suppressMessages(confint(fit, level = level))
    save(data.frame(term = rownames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2]),
                    stringsAsFactors = FALSE),
         name, if (level == 0.95) "confint_profile" else "confint_profile_90")
  }

  a <- anova(small, fit, test = "Chisq")
  save(data.frame(deviance = a$Deviance[2], df = as.integer(a$Df[2]),
                  p_value = a[["Pr(>Chi)"]][2],
                  resid_df_restricted = as.integer(a[["Resid. Df"]][1]),
                  resid_dev_restricted = a[["Resid. Dev"]][1],
                  resid_df_full = as.integer(a[["Resid. Df"]][2]),
                  resid_dev_full = a[["Resid. Dev"]][2]),
       name, "lrtest")

  h <- hatvalues(fit)
  save(data.frame(obs = seq_along(h), hat = unname(h)), name, "hat")
  cat(sprintf("%-20s n = %d, k = %d, clusters (%s) G = %d, iterations = %d\n",
              name, n, k, cluster, g, fit$iter))
}

run("mtcars_logit", "mtcars", "am ~ hp + wt", "am ~ hp", binomial, "cyl")
run("pima_logit", "pima",
    'I(diabetes == "Yes") ~ glucose + bmi + pedigree + age',
    'I(diabetes == "Yes") ~ glucose + bmi', binomial, "pregnancies")
run("warpbreaks_poisson", "warpbreaks", "breaks ~ wool + tension", "breaks ~ wool",
    poisson, "tension",
    function(d) {
      d$wool <- factor(d$wool, levels = c("A", "B"))
      d$tension <- factor(d$tension, levels = c("L", "M", "H"))
      d
    })

writeLines(c(capture.output(sessionInfo()), "",
             paste("sandwich", as.character(packageVersion("sandwich"))),
             paste("MASS", as.character(packageVersion("MASS")))),
           file.path(out_dir, "edge_sessioninfo.txt"))
