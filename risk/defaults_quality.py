"""The fixed numbers of merchant quality (domain.md "Merchants"), each in one place. The
credit rating's weights and thresholds are a row staff edit (`RatingWeights`); these are the
rules the proposal states and the windows they are measured over."""

from decimal import Decimal

#: The credit rating looks at the 90 days before the night it runs.
RATING_WINDOW_DAYS = 90
#: Grades from the score: A ≥ 90, B ≥ 80, C ≥ 60, D below.
GRADE_THRESHOLDS = ((Decimal("90"), "A"), (Decimal("80"), "B"), (Decimal("60"), "C"))
LOWEST_GRADE = "D"
#: Too few orders to judge: the grade every merchant starts with.
UNRATED_GRADE = "B"
#: No review in the window: the review part counts a neutral 4-star average.
NO_REVIEW_AVERAGE = Decimal("4.00")
#: A quarterly score below this opens a requalification review.
EVALUATION_PASS_SCORE = Decimal("80")
#: Renewal: contracts ending within this many days are evaluated.
RENEWAL_NOTICE_DAYS = 60
#: Automatic renewal: GMV grew at least 15 % year on year and satisfaction is at least 4.8.
RENEWAL_MIN_GMV_GROWTH_PCT = Decimal("15.00")
RENEWAL_MIN_SATISFACTION = Decimal("4.80")
#: Complaint categories that mean the goods failed quality (quarterly quality pass rate).
QUALITY_COMPLAINT_CATEGORIES = ("counterfeit", "not_as_described")
