# Reference output for validation/edge_cases.py: robust covariances (sandwich),
# profile-likelihood intervals (confint) and likelihood-ratio tests (anova).
#
# Run from the repository root:  Rscript validation/r/sandwich_reference.R
# (R 4.2.2 with Debian's r-cran-sandwich and r-cran-mass; sessionInfo is
# written next to the results).  Reads validation/data/sandwich_<name>.csv,
# written by `python -m validation.edge_cases --export`, and writes
# validation/r/results/sandwich_<name>_<what>.csv (every fit refitted from its
# estimate, so that R's weights are those at the estimate):
#   coef            estimate and model-based standard error
#   vcov_HC0..HC3   sandwich::vcovHC(fit, type = ...)
#   vcov_CL         sandwich::vcovCL(fit, cluster = g, type = "HC1"): with the
#                   default cadjust = TRUE, G/(G - 1) * (n - 1)/(n - k), as Stata
#                   (vcovCL's own default for glm is type "HC0": G/(G - 1) only)
#   confint_95, confint_90   confint(fit, level = ...): profile likelihood (MASS)
#   lrtest          anova(restricted, fit, test = "Chisq"): deviance, df, p-value
library(sandwich)
library(MASS)
options(digits = 17)
out <- "validation/r/results"

write <- function(value, name, what) {
  write.csv(format(as.data.frame(value), digits = 17),
            file.path(out, paste0("sandwich_", name, "_", what, ".csv")), row.names = TRUE)
}

run <- function(name, full, restricted, family, cluster, prepare = identity) {
  d <- prepare(read.csv(file.path("validation/data", paste0("sandwich_", name, ".csv"))))
  # glm takes its covariance from the weights of the iteration before the last;
  # one more pass from the estimate puts those weights (and sandwich's bread and
  # hat values) at the maximum-likelihood estimate, as expfam reports them.
  first <- glm(full, family = family, data = d, control = glm.control(epsilon = 1e-14))
  fit <- glm(full, family = family, data = d, start = coef(first),
             control = glm.control(epsilon = 1e-14))
  small <- glm(restricted, family = family, data = d)
  write(data.frame(estimate = coef(fit), std_error = sqrt(diag(vcov(fit)))), name, "coef")
  for (type in c("HC0", "HC1", "HC2", "HC3")) {
    write(vcovHC(fit, type = type), name, paste0("vcov_", type))
  }
  write(vcovCL(fit, cluster = d[[cluster]], type = "HC1"), name, "vcov_CL")
  write(confint(fit, level = 0.95), name, "confint_95")
  write(confint(fit, level = 0.90), name, "confint_90")
  a <- anova(small, fit, test = "Chisq")
  write(data.frame(deviance = a$Deviance[2], df = a$Df[2], p_value = a[["Pr(>Chi)"]][2]),
        name, "lrtest")
}

run("mtcars", am ~ hp + wt, am ~ hp, binomial, "cyl")
run("pima", diabetes ~ glucose + bmi + pedigree + age, diabetes ~ glucose + bmi, binomial,
    "pregnancies", function(d) { d$diabetes <- as.numeric(d$diabetes == "Yes"); d })
run("warpbreaks", breaks ~ wool + tension, breaks ~ wool, poisson, "loom",
    function(d) {
      d$wool <- factor(d$wool, levels = c("A", "B"))
      d$tension <- factor(d$tension, levels = c("L", "M", "H"))
      d
    })
writeLines(capture.output(sessionInfo()), file.path(out, "sandwich_sessioninfo.txt"))
