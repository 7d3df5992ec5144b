# Reference output for a factor with many levels (600): R's glm expands it into
# dummy columns, expfam keeps it as codes.  Compared in tests/test_structured_design.py.
#
# Run from the repository root:  Rscript validation/r/factor_reference.R
# Reads validation/data/factor_many_levels.csv (python -m validation.factor_cases
# --export) and writes validation/r/results/factor_many_levels_<what>.csv:
#   coef    estimate, model-based and HC0 (sandwich::vcovHC) standard errors
#   stats   log-likelihood, deviance, residual degrees of freedom
library(sandwich)
options(digits = 17)
out <- "validation/r/results"
d <- read.csv("validation/data/factor_many_levels.csv")
d$g <- factor(d$g)
# One more pass from the estimate puts R's weights at the estimate, as expfam's.
first <- glm(y ~ x1 + x2 + g, family = binomial, data = d,
             control = glm.control(epsilon = 1e-14, maxit = 100))
fit <- glm(y ~ x1 + x2 + g, family = binomial, data = d, start = coef(first),
           control = glm.control(epsilon = 1e-14, maxit = 100))
coefs <- data.frame(estimate = coef(fit), std_error = sqrt(diag(vcov(fit))),
                    std_error_HC0 = sqrt(diag(vcovHC(fit, type = "HC0"))))
write.csv(format(coefs, digits = 17), file.path(out, "factor_many_levels_coef.csv"))
stats <- data.frame(loglik = as.numeric(logLik(fit)), deviance = deviance(fit),
                    df_resid = df.residual(fit))
write.csv(format(stats, digits = 17), file.path(out, "factor_many_levels_stats.csv"),
          row.names = FALSE)
writeLines(capture.output(sessionInfo()), file.path(out, "factor_sessioninfo.txt"))
