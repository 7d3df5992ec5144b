# Reference fits of the formula cases in validation/formula_cases.py with R's glm().
#
# Reads validation/data/formula_<case>.csv (written by
# `python -m validation.formula_cases --export`) and writes
# validation/r/results/formula_<case>_coef.csv and _stats.csv.  Run from the
# repository root:  Rscript validation/r/formula_reference.R
#
# Factor levels are given in the order the bundled datasets use (R's own
# datasets order), since read.csv would sort them alphabetically.

out_dir <- file.path("validation", "r", "results")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
read_case <- function(name) read.csv(file.path("validation", "data", paste0("formula_", name, ".csv")))

fits <- list(
  mtcars_cyl = glm(am ~ hp + wt + factor(cyl), binomial, read_case("mtcars_cyl"), control = ctl),
  warpbreaks_interaction = {
    d <- read_case("warpbreaks_interaction")
    d$tension <- factor(d$tension, levels = c("L", "M", "H"))
    glm(breaks ~ wool * tension, poisson, d, control = ctl)
  },
  ucb_binomial = {
    d <- read_case("ucb_binomial")
    d$gender <- factor(d$gender, levels = c("Male", "Female"))
    glm(cbind(admitted, rejected) ~ gender + relevel(factor(dept), "C"), binomial, d,
        control = ctl)
  },
  iris_species = glm(factor(species) ~ petal_length + I(petal_width^2) +
                       scale(sepal_width, scale = FALSE),
                     binomial, read_case("iris_species"), control = ctl),
  fair_religious = glm(had_affair ~ factor(religious) + age + rate_marriage +
                         yrs_married:children, binomial, read_case("fair_religious"),
                       control = ctl)
)

for (name in names(fits)) {
  fit <- fits[[name]]
  stopifnot(fit$converged)
  s <- summary(fit)$coefficients
  write.csv(data.frame(term = rownames(s), estimate = s[, 1], std_error = s[, 2]),
            file.path(out_dir, paste0("formula_", name, "_coef.csv")), row.names = FALSE)
  stats <- c(llf = as.numeric(logLik(fit)), deviance = deviance(fit), aic = AIC(fit))
  write.csv(data.frame(statistic = names(stats), value = unname(stats)),
            file.path(out_dir, paste0("formula_", name, "_stats.csv")), row.names = FALSE)
}
