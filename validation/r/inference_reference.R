# Reference output of R for the post-fit toolkit (tests/test_inference_toolkit.py):
# predictions with standard errors, analysis-of-deviance tables (anova.glm,
# car::Anova, drop1), linear hypotheses (car::linearHypothesis), influence
# measures, quasi-likelihood fits, an offset inside the formula, and
# MASS::lda(CV = TRUE) posteriors.
#
# Run from the repository root:  Rscript validation/r/inference_reference.R
# (R 4.2.2 with car and MASS from Debian; sessionInfo is written next to the
# results).  Reads the bundled datasets in expfam/datasets/ and
# validation/data/mass_lda_<name>.csv; writes validation/data/inference_insurance.csv
# (MASS::Insurance, Group and Age as plain factor codes 1-4) and
# validation/r/results/inference_<what>.csv.
suppressPackageStartupMessages({library(MASS); library(car)})
options(digits = 17, warn = 1)
out <- "validation/r/results"
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
write <- function(value, what) {
  write.csv(format(as.data.frame(value), digits = 17),
            file.path(out, paste0("inference_", what, ".csv")), row.names = FALSE)
}
table_of <- function(a) data.frame(term = rownames(a), as.data.frame(a), check.names = FALSE)

mtcars <- read.csv("expfam/datasets/mtcars.csv")
warp <- read.csv("expfam/datasets/warpbreaks.csv")
warp$tension <- factor(warp$tension, levels = c("L", "M", "H"))
warp$wool <- factor(warp$wool)
ucb <- read.csv("expfam/datasets/ucb_admissions.csv")
ucb$gender <- factor(ucb$gender, levels = c("Male", "Female"))

# -- predictions with standard errors ---------------------------------------
logit <- glm(am ~ hp + wt, binomial, mtcars, control = ctl)
new <- data.frame(hp = c(90, 150, 245, 110), wt = c(2.2, 3.1, 3.6, 2.9))
link <- predict(logit, new, type = "link", se.fit = TRUE)
resp <- predict(logit, new, type = "response", se.fit = TRUE)
write(data.frame(new, eta = link$fit, eta_se = link$se.fit, mean = resp$fit,
                 mean_se = resp$se.fit), "predict_logit")

pois <- glm(breaks ~ wool * tension, poisson, warp, control = ctl)
newp <- data.frame(wool = c("A", "B", "B"), tension = c("M", "L", "H"))
link <- predict(pois, newp, type = "link", se.fit = TRUE)
resp <- predict(pois, newp, type = "response", se.fit = TRUE)
write(data.frame(newp, eta = link$fit, eta_se = link$se.fit, mean = resp$fit,
                 mean_se = resp$se.fit), "predict_poisson")

# -- an offset in the formula, re-read from new data --------------------------
ins <- Insurance
ins$Group <- as.integer(ins$Group)
ins$Age <- as.integer(ins$Age)
ins$District <- as.integer(as.character(ins$District))
write.csv(ins[, c("District", "Group", "Age", "Holders", "Claims")],
          "validation/data/inference_insurance.csv", row.names = FALSE)
off <- glm(Claims ~ factor(District) + factor(Group) + factor(Age) + offset(log(Holders)),
           poisson, ins, control = ctl)
s <- summary(off)$coefficients
write(data.frame(term = rownames(s), s, check.names = FALSE), "offset_coef")
newi <- ins[c(1, 20, 40, 64), c("District", "Group", "Age", "Holders")]
newi$Holders <- c(100, 250, 1000, 5)
resp <- predict(off, newi, type = "response", se.fit = TRUE)
write(data.frame(newi, mean = resp$fit, mean_se = resp$se.fit), "offset_predict")

# -- quasi-likelihood ----------------------------------------------------------
qp <- glm(breaks ~ wool + tension, quasipoisson, warp, control = ctl)
write(table_of(summary(qp)$coefficients), "quasipoisson_coef")
qb <- glm(cbind(admitted, rejected) ~ gender + dept, quasibinomial, ucb, control = ctl)
write(table_of(summary(qb)$coefficients), "quasibinomial_coef")
pw <- glm(breaks ~ wool + tension, poisson, warp, control = ctl)
dev_disp <- deviance(pw) / df.residual(pw)
write(table_of(summary(pw, dispersion = dev_disp)$coefficients), "quasipoisson_dev_coef")
write(data.frame(statistic = c("dispersion_X2", "dispersion_dev", "df_resid"),
                 value = c(summary(qp)$dispersion, dev_disp, df.residual(qp))),
      "quasipoisson_stats")
write(table_of(anova(qp, test = "F")), "quasipoisson_anova")

# -- analysis of deviance -----------------------------------------------------
write(table_of(anova(pois, test = "Chisq")), "anova_poisson_seq")
p0 <- glm(breaks ~ wool, poisson, warp, control = ctl)
p1 <- glm(breaks ~ wool + tension, poisson, warp, control = ctl)
write(as.data.frame(anova(p0, p1, pois, test = "Chisq")), "anova_poisson_nested")
write(table_of(drop1(pois, test = "Chisq")), "drop1_poisson_interaction")
write(table_of(drop1(p1, test = "Chisq")), "drop1_poisson")
for (type in c(2, 3)) for (stat in c("LR", "Wald")) {
  write(table_of(Anova(pois, type = type, test.statistic = stat)),
        sprintf("car_poisson_type%d_%s", type, stat))
}
write(table_of(anova(logit, test = "Chisq")), "anova_logit_seq")

gauss <- glm(mpg ~ wt + hp + factor(cyl), gaussian, mtcars, control = ctl)
write(table_of(anova(gauss, test = "F")), "anova_gaussian_seq")
write(table_of(drop1(gauss, test = "F")), "drop1_gaussian")
g0 <- glm(mpg ~ wt, gaussian, mtcars, control = ctl)
write(as.data.frame(anova(g0, gauss, test = "F")), "anova_gaussian_nested")
write(table_of(Anova(gauss, type = 2, test.statistic = "F")), "car_gaussian_type2_F")
write(table_of(Anova(gauss, type = 2, test.statistic = "Wald")), "car_gaussian_type2_Wald")

pima <- read.csv("expfam/datasets/pima.csv")
pima$diabetes <- factor(pima$diabetes, levels = c("No", "Yes"))
logit3 <- glm(diabetes ~ glucose + bmi + age + pedigree, binomial, pima, control = ctl)
lh <- linearHypothesis(logit3, c("bmi = age", "pedigree = 0"), test = "Chisq")
write(data.frame(statistic = lh$Chisq[2], df = lh$Df[2], p = lh[["Pr(>Chisq)"]][2]),
      "linear_hypothesis_logit")
lhg <- linearHypothesis(gauss, c("wt = 0", "hp = 0"), test = "F")
write(data.frame(statistic = lhg$F[2], df = lhg$Df[2], p = lhg[["Pr(>F)"]][2]),
      "linear_hypothesis_gaussian")
lhg <- linearHypothesis(gauss, "2*wt - hp = 1", test = "F")
write(data.frame(statistic = lhg$F[2], df = lhg$Df[2], p = lhg[["Pr(>F)"]][2]),
      "linear_hypothesis_gaussian_q")

# -- influence ---------------------------------------------------------------
influence_table <- function(fit) {
  im <- influence.measures(fit)$infmat
  colnames(im)[seq_len(fit$rank)] <- paste0("dfb_", names(coef(fit))[!is.na(coef(fit))])
  data.frame(im, rstudent = rstudent(fit), rstandard = rstandard(fit),
             rstandard_pearson = rstandard(fit, type = "pearson"), check.names = FALSE)
}
write(influence_table(logit), "influence_logit")
write(influence_table(p1), "influence_poisson")
write(influence_table(glm(mpg ~ wt + hp, gaussian, mtcars, control = ctl)),
      "influence_gaussian")
# glm.fit's QR tolerance is min(1e-7, epsilon / 1000): the default epsilon finds the alias.
aliased <- glm(mpg ~ wt + hp + I(wt + hp), gaussian, mtcars)
stopifnot(is.na(coef(aliased)[4]))
write(influence_table(aliased), "influence_aliased")
write(influence_table(glm(cbind(admitted, rejected) ~ gender + dept, binomial, ucb,
                          control = ctl)), "influence_binomial")

# -- LDA leave-one-out ---------------------------------------------------------
for (case in list(list("iris", "species"), list("pima", "diabetes"))) {
  d <- read.csv(file.path("validation/data", paste0("mass_lda_", case[[1]], ".csv")))
  d[[case[[2]]]] <- factor(d[[case[[2]]]])
  cv <- lda(as.formula(paste(case[[2]], "~ .")), data = d, CV = TRUE)
  write(cv$posterior, paste0("lda_cv_", case[[1]]))
}

writeLines(capture.output(sessionInfo()), file.path(out, "inference_sessioninfo.txt"))
