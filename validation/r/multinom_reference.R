# Reference fits of validation/multinomial_cases.py in R 4.2, two ways:
#
# - nnet::multinom (Debian's r-cran-nnet), fit by BFGS with reltol = 1e-16.  Its
#   optimizer stops about 1e-7 (absolute) short of the optimum however tight
#   the tolerance, so it is compared at a looser tolerance.
# - VGAM::vglm with multinomial(refLevel = 1) (Debian's r-cran-vgam), fit by
#   Fisher scoring (IRLS) to epsilon = 1e-12: the tight reference.
#
# Reads validation/data/multinom_<case>.csv (written by
# `python -m validation.multinomial_cases --export`); writes
# validation/r/results/{multinom,vglm}_<case>_{coef,se,llf}.csv with classes as
# rows and terms as columns.  Run from the repository root:
#     Rscript validation/r/multinom_reference.R

library(nnet)
suppressMessages(library(VGAM))
out_dir <- file.path("validation", "r", "results")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
read_case <- function(name) read.csv(file.path("validation", "data", paste0("multinom_", name, ".csv")))
save <- function(prefix, name, coef, se, llf) {
  write.csv(coef, file.path(out_dir, paste0(prefix, "_", name, "_coef.csv")))
  write.csv(se, file.path(out_dir, paste0(prefix, "_", name, "_se.csv")))
  write.csv(data.frame(llf = llf), file.path(out_dir, paste0(prefix, "_", name, "_llf.csv")),
            row.names = FALSE)
}

anes <- read_case("anes96"); anes$PID <- factor(anes$PID)
fair <- read_case("fair_rating"); fair$rate_marriage <- factor(fair$rate_marriage)
grouped <- read_case("fair_grouped")
cases <- list(
  anes96 = list(PID ~ logpopul + selfLR + age + educ + income, anes),
  fair_rating = list(rate_marriage ~ age + yrs_married + children + religious + educ, fair),
  fair_grouped = list(cbind(r1, r2, r3, r4, r5) ~ religious + children, grouped)
)

for (name in names(cases)) {
  formula <- cases[[name]][[1]]; data <- cases[[name]][[2]]
  f <- multinom(formula, data, reltol = 1e-16, abstol = 1e-300, maxit = 100000, Hess = TRUE,
                trace = FALSE)
  stopifnot(f$convergence == 0)
  save("multinom", name, coef(f), summary(f)$standard.errors, as.numeric(logLik(f)))

  v <- vglm(formula, multinomial(refLevel = 1), data,
            control = vglm.control(epsilon = 1e-12, maxit = 200))
  k1 <- ncol(fitted(v)) - 1  # non-reference classes
  terms <- unique(sub(":[0-9]+$", "", names(coef(v))))
  as_table <- function(x) matrix(x, nrow = k1, dimnames = list(NULL, terms))
  save("vglm", name, as_table(coef(v)), as_table(sqrt(diag(vcov(v)))), as.numeric(logLik(v)))
}
