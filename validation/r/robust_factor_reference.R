# Reference output for robust and cluster covariances with a factor of many
# levels (300): R's glm expands it into dummy columns, expfam keeps it as codes
# and never forms the p x p sandwich.  Compared in tests/test_robust_arrow.py.
#
# Run from the repository root:  Rscript validation/r/robust_factor_reference.R
# Reads validation/data/robust_factor.csv (python -m validation.robust_factor_cases
# --export) and writes validation/r/results/robust_factor_<what>.csv:
#   se      estimate, model-based standard error and the standard errors of
#           vcovHC(type = "HC0".."HC3"), vcovCL(type = "HC1") (G/(G-1)(n-1)/(n-k):
#           expfam's small_sample="regress") and vcovCL's glm default (type
#           "HC0", G/(G-1): expfam's small_sample="ml"), one row per coefficient
#   block   the covariances of (x1, x2, gs0001, gs0002) under each type, long form
library(sandwich)
options(digits = 17)
out <- "validation/r/results"
d <- read.csv("validation/data/robust_factor.csv")
d$g <- factor(d$g)
# One more pass from the estimate puts R's weights (bread, hat values) at the
# estimate, as expfam's.
first <- glm(y ~ x1 + x2 + g + offset(log(exposure)), family = poisson, data = d,
             control = glm.control(epsilon = 1e-14, maxit = 100))
fit <- glm(y ~ x1 + x2 + g + offset(log(exposure)), family = poisson, data = d,
           start = coef(first), control = glm.control(epsilon = 1e-14, maxit = 100))
covs <- list(HC0 = vcovHC(fit, type = "HC0"), HC1 = vcovHC(fit, type = "HC1"),
             HC2 = vcovHC(fit, type = "HC2"), HC3 = vcovHC(fit, type = "HC3"),
             CL_regress = vcovCL(fit, cluster = d$cl, type = "HC1"),
             CL_ml = vcovCL(fit, cluster = d$cl))
se <- data.frame(estimate = coef(fit), std_error = sqrt(diag(vcov(fit))))
for (name in names(covs)) se[[paste0("se_", name)]] <- sqrt(diag(covs[[name]]))
write.csv(format(se, digits = 17), file.path(out, "robust_factor_se.csv"))
picked <- c("x1", "x2", "gs0001", "gs0002")
rows <- list()
for (name in names(covs)) {
  block <- covs[[name]][picked, picked]
  rows[[name]] <- data.frame(type = name, row = rep(picked, times = 4),
                             col = rep(picked, each = 4), cov = as.vector(block))
}
write.csv(format(do.call(rbind, rows), digits = 17),
          file.path(out, "robust_factor_block.csv"), row.names = FALSE)
writeLines(capture.output(sessionInfo()), file.path(out, "robust_factor_sessioninfo.txt"))
