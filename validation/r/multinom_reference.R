# Reference fits of validation/multinomial_cases.py in R 4.2, two ways:
#
# - nnet::multinom (Debian's r-cran-nnet), fit by BFGS with reltol = 1e-16 on
#   standardized predictors, its coefficients and covariance mapped back to the
#   original columns (see fit_multinom below).
# - VGAM::vglm with multinomial(refLevel = 1) (Debian's r-cran-vgam), fit by
#   Fisher scoring (IRLS) to epsilon = 1e-12.  Optional: without VGAM
#   installed, the vglm_* results are left as they are.
#
# Reads validation/data/multinom_<case>.csv (written by
# `python -m validation.multinomial_cases --export`); writes
# validation/r/results/{multinom,vglm}_<case>_{coef,se,llf}.csv with classes as
# rows and terms as columns.  Run from the repository root:
#     Rscript validation/r/multinom_reference.R

library(nnet)
have_vgam <- suppressMessages(requireNamespace("VGAM", quietly = TRUE))
if (have_vgam) {
  suppressMessages(library(VGAM))
} else {
  message("VGAM is not installed: the vglm_* results are left as they are")
}
out_dir <- file.path("validation", "r", "results")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
read_case <- function(name) read.csv(file.path("validation", "data", paste0("multinom_", name, ".csv")))
save <- function(prefix, name, coef, se, llf) {
  write.csv(coef, file.path(out_dir, paste0(prefix, "_", name, "_coef.csv")))
  write.csv(se, file.path(out_dir, paste0(prefix, "_", name, "_se.csv")))
  write.csv(data.frame(llf = llf), file.path(out_dir, paste0(prefix, "_", name, "_llf.csv")),
            row.names = FALSE)
}

# nnet::multinom on standardized predictors.  BFGS stops when the log-likelihood
# (thousands, so its rounding is ~1e-12 absolute) changes by less than reltol;
# how far the coefficients then are from the optimum depends on the curvature.
# On the raw columns (an intercept beside ages and years married) the Hessian is
# badly conditioned and they stop up to ~2e-5 (relative) short of it along the
# flat directions, however small reltol is.  On centred, unit-variance columns
# the same stop is within ~1e-7.  The model is the same (a linear reparameter-
# isation of the predictors), so the coefficients map back exactly:
#   eta = b0 + sum_j b_j (x_j - m_j) / s_j  =>  beta_j = b_j / s_j,
#   beta_0 = b0 - sum_j b_j m_j / s_j,  i.e. beta = M b per class,
# and the covariance (nnet's: the inverse of its exact Hessian, class by class)
# transforms with the same map, kron(I, M) V kron(I, M)'.  The log-likelihood
# is unchanged.
fit_multinom <- function(formula, data) {
  frame <- model.frame(formula, data)
  y <- model.response(frame)
  x <- model.matrix(formula, frame)
  intercept <- colnames(x) == "(Intercept)"
  centre <- ifelse(intercept, 0, colMeans(x))
  spread <- ifelse(intercept, 1, apply(x, 2, sd))
  z <- sweep(sweep(x, 2, centre), 2, spread, "/")
  f <- multinom(y ~ z - 1, reltol = 1e-16, abstol = 1e-300, maxit = 100000, Hess = TRUE,
                trace = FALSE)
  stopifnot(f$convergence == 0)
  m <- diag(1 / spread, ncol(x))
  m[intercept, !intercept] <- -centre[!intercept] / spread[!intercept]
  coef_b <- coef(f)
  coef_beta <- coef_b %*% t(m)
  dimnames(coef_beta) <- list(rownames(coef_b), colnames(x))
  t_map <- kronecker(diag(nrow(coef_b)), m)
  cov_beta <- t_map %*% vcov(f) %*% t(t_map)
  se <- matrix(sqrt(diag(cov_beta)), nrow = nrow(coef_b), byrow = TRUE,
               dimnames = dimnames(coef_beta))
  list(coef = coef_beta, se = se, llf = as.numeric(logLik(f)))
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
  f <- fit_multinom(formula, data)
  save("multinom", name, f$coef, f$se, f$llf)

  if (!have_vgam) next
  v <- vglm(formula, multinomial(refLevel = 1), data,
            control = vglm.control(epsilon = 1e-12, maxit = 200))
  k1 <- ncol(fitted(v)) - 1  # non-reference classes
  terms <- unique(sub(":[0-9]+$", "", names(coef(v))))
  as_table <- function(x) matrix(x, nrow = k1, dimnames = list(NULL, terms))
  save("vglm", name, as_table(coef(v)), as_table(sqrt(diag(vcov(v)))), as.numeric(logLik(v)))
}
