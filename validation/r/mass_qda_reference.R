# Reference output of R's MASS::qda for validation/qda_cases.py.
#
# Run from the repository root:  Rscript validation/r/mass_qda_reference.R
# (R 4.2.2, MASS 7.3 from Debian's r-cran-mass; sessionInfo is written next to
# the results).  Reads the same inputs as mass_lda_reference.R,
# validation/data/mass_lda_<name>.csv, and writes, for each dataset,
# validation/r/results/mass_qda_<name>_<what>.csv:
#   prior, means, covariance_<class> (each class's covariance with divisor
#   n_k - 1, which is what qda(method = "moment") uses: scaling %*% t(scaling)
#   inverted), ldet (the log determinant of each class's covariance, as qda
#   stores it), posterior (predict(fit)$posterior,
#   resubstitution), and prior_given_posterior (a fit with the priors given below).
library(MASS)
options(digits = 17)
out <- "validation/r/results"

run <- function(name, response, levels, given) {
  d <- read.csv(file.path("validation/data", paste0("mass_lda_", name, ".csv")))
  d[[response]] <- factor(d[[response]], levels = levels)
  f <- as.formula(paste(response, "~ ."))
  fit <- qda(f, data = d)
  write <- function(value, what) {
    write.csv(format(as.data.frame(value), digits = 17),
              file.path(out, paste0("mass_qda_", name, "_", what, ".csv")), row.names = FALSE)
  }
  write(data.frame(class = names(fit$prior), prior = as.numeric(fit$prior)), "prior")
  write(data.frame(class = rownames(fit$means), fit$means), "means")
  for (i in seq_along(levels)) {
    # qda stores scaling[, , i] with t(scaling) %*% Sigma_i %*% scaling = I.
    s <- fit$scaling[, , i]
    write(solve(s %*% t(s)), paste0("covariance_", levels[i]))
  }
  write(data.frame(class = levels, ldet = as.numeric(fit$ldet)), "ldet")
  write(predict(fit)$posterior, "posterior")
  given_fit <- qda(f, data = d, prior = given)
  write(predict(given_fit)$posterior, "prior_given_posterior")
}

run("iris", "species", c("setosa", "versicolor", "virginica"), c(0.5, 0.25, 0.25))
run("pima", "diabetes", c("No", "Yes"), c(0.5, 0.5))
writeLines(capture.output(sessionInfo()), file.path(out, "mass_qda_sessioninfo.txt"))
