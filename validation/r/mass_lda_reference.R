# Reference output of R's MASS::lda for validation/lda_cases.py.
#
# Run from the repository root:  Rscript validation/r/mass_lda_reference.R
# (R 4.2.2, MASS 7.3 from Debian's r-cran-mass; sessionInfo is written next to
# the results).  Reads validation/data/mass_lda_<name>.csv, written by
# `python -m validation.lda_cases --export`, and writes, for each dataset,
# validation/r/results/mass_lda_<name>_<what>.csv:
#   prior, means, covariance (the pooled within-class covariance with divisor
#   n - K, which is what lda(method = "moment") uses), posterior, x (the
#   discriminant coordinates of predict(): (x - colSums(prior * means)) %*%
#   scaling, whose within-class covariance is the identity), and
#   prior_given_posterior (a fit with the priors given below).
library(MASS)
options(digits = 17)
out <- "validation/r/results"

run <- function(name, response, levels, given) {
  d <- read.csv(file.path("validation/data", paste0("mass_lda_", name, ".csv")))
  d[[response]] <- factor(d[[response]], levels = levels)
  f <- as.formula(paste(response, "~ ."))
  fit <- lda(f, data = d)
  x <- as.matrix(d[, setdiff(names(d), response)])
  g <- d[[response]]
  scatter <- Reduce(`+`, lapply(levels, function(l) {
    xl <- x[g == l, , drop = FALSE]
    crossprod(sweep(xl, 2, colMeans(xl)))
  }))
  cov <- scatter / (nrow(x) - length(levels))
  pred <- predict(fit)
  given_fit <- lda(f, data = d, prior = given)
  write <- function(value, what) {
    write.csv(format(as.data.frame(value), digits = 17),
              file.path(out, paste0("mass_lda_", name, "_", what, ".csv")), row.names = FALSE)
  }
  write(data.frame(class = names(fit$prior), prior = as.numeric(fit$prior)), "prior")
  write(data.frame(class = rownames(fit$means), fit$means), "means")
  write(cov, "covariance")
  write(pred$posterior, "posterior")
  write(pred$x, "x")
  write(predict(given_fit)$posterior, "prior_given_posterior")
}

run("iris", "species", c("setosa", "versicolor", "virginica"), c(0.5, 0.25, 0.25))
run("pima", "diabetes", c("No", "Yes"), c(0.5, 0.5))
writeLines(capture.output(sessionInfo()), file.path(out, "mass_lda_sessioninfo.txt"))
