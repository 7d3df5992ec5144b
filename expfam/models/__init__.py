"""Models users build: GLMs from arrays and formulas, multinomial, LDA."""
