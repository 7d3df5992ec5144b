# Reference fits with R's glm() for validation/compare.py.
#
# Reads validation/data/<case>.csv (written by `python -m validation.cases`) and
# writes validation/r/results/<case>_coef.csv, <case>_stats.csv and
# <case>_resid.csv.  Run from the repository root:
#
#     Rscript validation/r/glm_reference.R
#
# Reserved columns: resp_y (response; successes for binomial), resp_n (trials),
# resp_w (frequency weights, given to glm as prior weights), resp_off (offset).  Every
# other column is a predictor; glm adds the intercept.

options(warn = 1)
families <- c(spector = "binomial", fair = "binomial", mtcars = "binomial", ucb = "binomial",
              star98 = "binomial", cpunish = "poisson", randhie = "poisson",
              committee = "poisson", mtcars_gaussian = "gaussian", statecrime = "gaussian")

out_dir <- file.path("validation", "r", "results")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
writeLines(c(R.version.string, paste("stats", packageVersion("stats"))),
           file.path(out_dir, "R_VERSION.txt"))

for (case in names(families)) {
  message("fitting ", case)
  d <- read.csv(file.path("validation", "data", paste0(case, ".csv")), check.names = FALSE)
  reserved <- c("resp_y", "resp_n", "resp_w", "resp_off")
  preds <- setdiff(names(d), reserved)
  lhs <- if ("resp_n" %in% names(d)) "cbind(resp_y, resp_n - resp_y)" else "resp_y"
  form <- as.formula(paste(lhs, "~", paste(sprintf("`%s`", preds), collapse = " + ")))
  d$wt_ <- if ("resp_w" %in% names(d)) d$resp_w else rep(1, nrow(d))
  d$off_ <- if ("resp_off" %in% names(d)) d$resp_off else rep(0, nrow(d))
  fit <- glm(form, family = get(families[[case]])(), data = d, weights = wt_, offset = off_,
             control = glm.control(epsilon = 1e-14, maxit = 100))
  stopifnot(fit$converged)

  s <- summary(fit)$coefficients
  terms <- sub("^\\(Intercept\\)$", "const", gsub("`", "", rownames(s)))
  write.csv(data.frame(term = terms, estimate = s[, 1], std_error = s[, 2], z = s[, 3],
                       p_value = s[, 4]),
            file.path(out_dir, paste0(case, "_coef.csv")), row.names = FALSE)

  pearson <- residuals(fit, type = "pearson")
  stats <- c(llf = as.numeric(logLik(fit)), deviance = deviance(fit),
             null_deviance = fit$null.deviance, aic = AIC(fit), bic = BIC(fit),
             pearson_chi2 = sum(pearson^2), df_resid = df.residual(fit), iter = fit$iter)
  write.csv(data.frame(statistic = names(stats), value = unname(stats)),
            file.path(out_dir, paste0(case, "_stats.csv")), row.names = FALSE)

  # Per-row residuals, without prior weights where R folds them in (frequency
  # weights are not part of a row's residual in expfam).
  w <- if ("resp_w" %in% names(d)) d$resp_w else rep(1, nrow(d))
  write.csv(data.frame(fitted = fitted(fit), response = residuals(fit, type = "response"),
                       pearson = pearson / sqrt(w),
                       deviance = residuals(fit, type = "deviance") / sqrt(w)),
            file.path(out_dir, paste0(case, "_resid.csv")), row.names = FALSE)
}
