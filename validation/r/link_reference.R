# Reference fits with non-canonical links and the Gamma and inverse Gaussian
# families (R's glm), for validation/link_cases.py and tests/test_links_validation.py.
#
# Reads validation/data/link_cases.csv (case, family, link) and each case's
# validation/data/<case>.csv (written by `python -m validation.cases`; reserved
# columns as in glm_reference.R) and writes validation/r/results/<case>_coef.csv,
# _stats.csv and _resid.csv in glm_reference.R's format, plus sandwich
# covariances (HC0, HC3) and profile-likelihood intervals (MASS) for some cases.
# Run from the repository root:
#
#     Rscript validation/r/link_reference.R

options(warn = 1)
suppressPackageStartupMessages({library(MASS); library(sandwich)})
cases <- read.csv(file.path("validation", "data", "link_cases.csv"), stringsAsFactors = FALSE)
out_dir <- file.path("validation", "r", "results")
extra <- c("spector_probit", "scotland_gamma_log", "warpbreaks_identity", "ucb_log")
writeLines(c(R.version.string, paste("stats", packageVersion("stats")),
             paste("MASS", packageVersion("MASS")), paste("sandwich", packageVersion("sandwich"))),
           file.path(out_dir, "link_sessioninfo.txt"))

for (i in seq_len(nrow(cases))) {
  case <- cases$case[i]
  message("fitting ", case, " (", cases$family[i], ", link ", cases$link[i], ")")
  d <- read.csv(file.path("validation", "data", paste0(case, ".csv")), check.names = FALSE)
  reserved <- c("resp_y", "resp_n", "resp_w", "resp_off")
  preds <- setdiff(names(d), reserved)
  lhs <- if ("resp_n" %in% names(d)) "cbind(resp_y, resp_n - resp_y)" else "resp_y"
  form <- as.formula(paste(lhs, "~", paste(sprintf("`%s`", preds), collapse = " + ")))
  d$wt_ <- if ("resp_w" %in% names(d)) d$resp_w else rep(1, nrow(d))
  d$off_ <- if ("resp_off" %in% names(d)) d$resp_off else rep(0, nrow(d))
  fam <- get(cases$family[i])(link = cases$link[i])
  fit <- glm(form, family = fam, data = d, weights = wt_, offset = off_,
             control = glm.control(epsilon = 1e-14, maxit = 200))
  stopifnot(fit$converged)

  s <- summary(fit)$coefficients
  terms <- sub("^\\(Intercept\\)$", "const", gsub("`", "", rownames(s)))
  write.csv(data.frame(term = terms, estimate = s[, 1], std_error = s[, 2], z = s[, 3],
                       p_value = s[, 4]),
            file.path(out_dir, paste0(case, "_coef.csv")), row.names = FALSE)
  pearson <- residuals(fit, type = "pearson")
  stats <- c(llf = as.numeric(logLik(fit)), deviance = deviance(fit),
             null_deviance = fit$null.deviance, aic = AIC(fit), bic = BIC(fit),
             pearson_chi2 = sum(pearson^2), df_resid = df.residual(fit), iter = fit$iter,
             dispersion = summary(fit)$dispersion)
  write.csv(data.frame(statistic = names(stats), value = unname(stats)),
            file.path(out_dir, paste0(case, "_stats.csv")), row.names = FALSE)
  w <- d$wt_
  write.csv(data.frame(fitted = fitted(fit), response = residuals(fit, type = "response"),
                       pearson = pearson / sqrt(w),
                       deviance = residuals(fit, type = "deviance") / sqrt(w)),
            file.path(out_dir, paste0(case, "_resid.csv")), row.names = FALSE)

  if (case %in% extra) {
    # expfam's weights are frequency weights: a weight of k is the row k times,
    # in robust covariances too.  sandwich treats prior weights as probability
    # weights, so a weighted case is compared with the fit on replicated rows.
    rep_fit <- fit
    if ("resp_w" %in% names(d)) {
      d_rep <- d[rep(seq_len(nrow(d)), d$wt_), ]
      d_rep$wt_ <- 1
      rep_fit <- glm(form, family = fam, data = d_rep, weights = wt_, offset = off_,
                     control = glm.control(epsilon = 1e-14, maxit = 200))
    }
    for (type in c("HC0", "HC3")) {
      v <- vcovHC(rep_fit, type = type)
      write.csv(v, file.path(out_dir, paste0(case, "_vcov_", type, ".csv")))
    }
    ci <- suppressMessages(confint(fit, level = 0.95))
    rownames(ci) <- sub("^\\(Intercept\\)$", "const", gsub("`", "", rownames(ci)))
    write.csv(data.frame(term = rownames(ci), lower = ci[, 1], upper = ci[, 2]),
              file.path(out_dir, paste0(case, "_confint.csv")), row.names = FALSE)
  }
}
