# Reference fit of MASS::glm.nb on MASS::quine (days absent from school), for
# tests/test_negative_binomial.py.  Writes the dataset to validation/data/quine.csv
# and the fit to validation/r/results/nb_quine_*.csv.  Run from the repository root:
#
#     Rscript validation/r/nb_reference.R

options(warn = 1)
suppressPackageStartupMessages(library(MASS))
out_dir <- file.path("validation", "r", "results")
write.csv(quine, file.path("validation", "data", "quine.csv"), row.names = FALSE)

fit <- glm.nb(Days ~ Eth + Sex + Age + Lrn, data = quine,
              control = glm.control(epsilon = 1e-14, maxit = 100))
stopifnot(fit$converged)
s <- summary(fit)$coefficients
write.csv(data.frame(term = rownames(s), estimate = s[, 1], std_error = s[, 2], z = s[, 3],
                     p_value = s[, 4]),
          file.path(out_dir, "nb_quine_coef.csv"), row.names = FALSE)

# theta.ml's standard error is taken at the last-but-one Newton iterate; the
# information at the final theta itself, from MASS's own formula, as well:
y <- quine$Days; mu <- fitted(fit); th <- fit$theta
info <- sum(-trigamma(th + y) + trigamma(th) - 1/th + 2/(mu + th) - (y + th)/(mu + th)^2)
pois <- glm(Days ~ Eth + Sex + Age + Lrn, data = quine, family = poisson,
            control = glm.control(epsilon = 1e-14, maxit = 100))
stats <- c(theta = th, theta_se = fit$SE.theta, theta_se_final = 1 / sqrt(info),
           llf = as.numeric(logLik(fit)), twologlik = fit$twologlik, aic = AIC(fit),
           bic = BIC(fit), deviance = deviance(fit), null_deviance = fit$null.deviance,
           pearson_chi2 = sum(residuals(fit, type = "pearson")^2),
           df_resid = df.residual(fit), poisson_llf = as.numeric(logLik(pois)),
           lr_vs_poisson = 2 * (as.numeric(logLik(fit)) - as.numeric(logLik(pois))))
write.csv(data.frame(statistic = names(stats), value = unname(stats)),
          file.path(out_dir, "nb_quine_stats.csv"), row.names = FALSE)
write.csv(data.frame(fitted = fitted(fit), pearson = residuals(fit, type = "pearson"),
                     deviance = residuals(fit, type = "deviance")),
          file.path(out_dir, "nb_quine_resid.csv"), row.names = FALSE)
# Studentized residuals: rstudent.glm divides by the leave-one-out sigma for
# every family but the binomial and Poisson, the negative binomial included.
write.csv(data.frame(rstudent = rstudent(fit), hat = hatvalues(fit)),
          file.path(out_dir, "nb_quine_rstudent.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("MASS", packageVersion("MASS"))),
           file.path(out_dir, "nb_sessioninfo.txt"))
