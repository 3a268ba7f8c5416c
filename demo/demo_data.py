"""The demo data set of `manage.py seed_demo`: rows as plain tuples, deterministic per seed.

Nothing here touches the database. `DemoData` yields the rows of each table in the order
of `DemoData.TABLES` (a table's rows may refer to the ids of the tables before it); the
command writes them with COPY on PostgreSQL and `bulk_create` elsewhere. Every table draws
from its own `random.Random`, seeded from the seed and the table's name, so one table's
rows do not depend on how another was consumed.

The rules the database enforces hold by construction: unique slugs and e-mails, one
enrollment and one review per user and course, progress 0-100, ratings 1-5, prices and
amounts >= 0, held enrollments (active or completed) never above a course's capacity,
`completed_at` set exactly for completed enrollments, and every date between the moment
its row could first exist and the anchor (midnight UTC today).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.utils.text import slugify

Row = tuple[Any, ...]

DAY = 86_400.0

# Generated users' e-mails end with this domain, the demo accounts' with "@brisk.local".
GENERATED_EMAIL_DOMAIN = "demo.brisk.local"
DEMO_EMAIL_SUFFIX = "brisk.local"


@dataclass(frozen=True)
class DemoSize:
    programmes: int
    courses: int
    users: int
    enrollments: int


SIZES = {
    "small": DemoSize(programmes=50, courses=500, users=2_000, enrollments=10_000),
    "medium": DemoSize(programmes=200, courses=4_000, users=20_000, enrollments=200_000),
    "large": DemoSize(programmes=2_000, courses=40_000, users=200_000, enrollments=2_000_000),
}


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    role: str
    first_name: str
    last_name: str
    is_staff: bool = False
    is_superuser: bool = False


# Documented in `seed_demo --help` and the README; for local use only.
DEMO_ACCOUNTS = (
    DemoAccount("staff@brisk.local", "brisk-staff-demo", "staff", "Sam", "Staff", is_staff=True, is_superuser=True),
    DemoAccount("instructor@brisk.local", "brisk-instructor-demo", "instructor", "Ines", "Instructor"),
    DemoAccount("student@brisk.local", "brisk-student-demo", "student", "Stu", "Student"),
)
# The demo accounts joined this long before the anchor.
DEMO_ACCOUNT_AGE_DAYS = 2 * 365
# Every generated user shares this password (one hash, computed once).
GENERATED_USER_PASSWORD = "brisk-learner-demo"


def demo_anchor() -> datetime:
    """The latest moment any demo row may carry: midnight UTC today.

    Dates are relative to it so the demo always looks recent, and the same seed gives the
    same rows all day long.
    """
    return datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# --- Vocabulary --------------------------------------------------------------------------

CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Programming", ("Python", "Go", "Rust", "TypeScript", "Java", "Kotlin", "C#", "Functional Programming")),
    ("Data Science", ("Pandas", "Statistics", "Data Visualisation", "R", "Jupyter", "Experiment Design")),
    ("Web Development", ("Django", "React", "HTML and CSS", "REST APIs", "Vue", "Web Performance")),
    ("Mobile Development", ("SwiftUI", "Android", "Flutter", "React Native", "Mobile UX")),
    ("Cloud & DevOps", ("Kubernetes", "Docker", "Terraform", "AWS", "CI/CD", "Observability")),
    ("Cybersecurity", ("Network Security", "Ethical Hacking", "Cryptography", "Secure Coding", "Incident Response")),
    ("Machine Learning", ("Deep Learning", "NLP", "Computer Vision", "MLOps", "Reinforcement Learning")),
    ("Databases", ("PostgreSQL", "SQL", "Data Modelling", "Query Tuning", "Redis", "Data Warehousing")),
    ("Design", ("UX Research", "Figma", "Typography", "Design Systems", "Accessibility")),
    ("Product Management", ("Roadmapping", "Product Discovery", "Agile Delivery", "Product Analytics")),
    ("Business", ("Entrepreneurship", "Negotiation", "Strategy", "Leadership", "Operations")),
    ("Marketing", ("SEO", "Content Marketing", "Email Marketing", "Brand Strategy", "Growth Marketing")),
    ("Finance", ("Accounting", "Personal Finance", "Financial Modelling", "Investing", "Corporate Finance")),
    ("Languages", ("Spanish", "French", "German", "Japanese", "Arabic", "Mandarin")),
    ("Mathematics", ("Linear Algebra", "Calculus", "Probability", "Discrete Maths", "Optimisation")),
    ("Science", ("Physics", "Chemistry", "Biology", "Astronomy", "Climate Science")),
    ("Music", ("Music Theory", "Guitar", "Piano", "Music Production", "Songwriting")),
    ("Photography", ("Portrait Photography", "Lightroom", "Street Photography", "Lighting")),
    ("Health & Wellness", ("Nutrition", "Yoga", "Mindfulness", "Sports Science")),
    ("Personal Development", ("Public Speaking", "Productivity", "Writing", "Critical Thinking", "Career Growth")),
)
COURSE_LEVELS = (
    "Introduction to",
    "Foundations of",
    "Practical",
    "Hands-on",
    "Modern",
    "Applied",
    "Advanced",
    "Mastering",
    "Essential",
    "Professional",
)
COURSE_SUFFIXES = (
    "",
    "",
    "",
    "",
    " for Beginners",
    " in Practice",
    " Bootcamp",
    " Deep Dive",
    " Workshop",
    " Projects",
)
PROGRAMME_ADJECTIVES = (
    "Complete",
    "Professional",
    "Accelerated",
    "Applied",
    "Career",
    "Essential",
    "Advanced",
    "Foundation",
    "Executive",
    "Weekend",
    "Intensive",
    "Modern",
)
PROGRAMME_KINDS = ("Track", "Path", "Programme", "Certificate", "Specialisation", "Diploma", "Academy", "Journey")
FIRST_NAMES = (
    "Amira", "Ben", "Chen", "Daniela", "Emeka", "Fatima", "Gabriel", "Hana", "Ivan", "Jana", "Kwame", "Lena",
    "Mateo", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sipho", "Tara", "Umar", "Valentina", "Wei", "Ximena",
    "Yusuf", "Zara", "Aisha", "Bruno", "Carmen", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kofi", "Lucia", "Malik", "Noor", "Olga", "Pablo", "Rania", "Sven", "Thandi", "Ugo", "Vera", "Wanjiru",
    "Yara", "Zaid", "Anika", "Bilal", "Chloe", "Diego", "Esra", "Felix", "Grace", "Hamza", "Ingrid", "Joao",
)  # fmt: skip
LAST_NAMES = (
    "Hassan", "Smith", "Wang", "Garcia", "Okafor", "Khan", "Silva", "Tanaka", "Petrov", "Novak", "Mensah",
    "Muller", "Rossi", "Haddad", "Patel", "Dubois", "Moreno", "Dlamini", "Reddy", "Ali", "Bianchi", "Li",
    "Lopez", "Yilmaz", "Nakamura", "Kowalski", "Andersen", "Nguyen", "Santos", "Ibrahim", "Schmidt", "Kim",
    "Costa", "Ivanova", "Mwangi", "Fischer", "Sato", "Rahman", "Jensen", "Martin", "Osei", "Herrera",
    "Cohen", "Park", "Eriksson", "Zhou", "Abdullah", "Kaya", "Murphy", "Singh",
)  # fmt: skip
PROGRAMME_PITCHES = (
    "A structured route into",
    "Everything you need to work with",
    "Build a career in",
    "From first steps to confidence in",
)
SUMMARY_OPENERS = (
    "Learn",
    "Get productive with",
    "Build real projects with",
    "Understand",
    "Go from zero to confident with",
    "Level up in",
)
DESCRIPTION_SENTENCES = (
    "Each module ends with a short project you can show.",
    "Video lessons are paired with written notes and exercises.",
    "No prior experience is assumed beyond curiosity.",
    "You will work through realistic case studies.",
    "Weekly quizzes help you check your understanding.",
    "A community forum is open to every learner.",
    "The final assessment is a capstone you design yourself.",
    "Instructors answer questions within two working days.",
)
REVIEW_COMMENTS = (
    "",
    "",
    "Clear explanations and good pacing.",
    "Exactly what I needed for work.",
    "The projects made it stick.",
    "A bit fast in the middle, but worth it.",
    "Great instructor, very responsive.",
    "Too basic for me.",
    "Excellent exercises.",
    "I would have liked more examples.",
    "The best course I have taken on this topic.",
    "Solid material, dated in places.",
)
PRICES = tuple(Decimal(p) for p in ("0.00", "19.00", "29.00", "49.00", "79.00", "99.00", "149.00", "199.00"))
PRICE_WEIGHTS = (8, 10, 16, 24, 16, 14, 8, 4)
CAPACITIES = (20, 30, 50, 100, 200, 500)
RATING_WEIGHTS = (3, 5, 12, 35, 45)  # for ratings 1..5

# Shares, not exact counts: each row draws its own.
INSTRUCTOR_SHARE = 0.02
STAFF_SHARE = 0.0005
PRO_SHARE = 0.2
INACTIVE_USER_SHARE = 0.01
INACTIVE_PROGRAMME_SHARE = 0.1
UNPUBLISHED_SHARE = 0.12
CAPPED_SHARE = 0.15
CANCELLED_SHARE = 0.08
COMPLETED_SHARE = 0.27
REVIEW_SHARE_COMPLETED = 0.35
REVIEW_SHARE_ACTIVE = 0.08
DEMO_INSTRUCTOR_COURSES = 12
DEMO_STUDENT_ENROLLMENTS = 8


def _rng(seed: int, table: str) -> random.Random:
    return random.Random(f"{seed}:{table}")


def _dt(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


@dataclass
class IdBases:
    """The first id each table's generated rows take (one past the largest present)."""

    category: int = 1
    programme: int = 1
    user: int = 1
    course: int = 1
    programme_course: int = 1
    enrollment: int = 1
    review: int = 1


@dataclass
class _CourseFacts:
    id: int
    price: Decimal
    capacity: int | None
    is_published: bool
    created: float


@dataclass
class DemoData:
    """The rows of one demo data set. Call the `*_rows` methods in `TABLES` order."""

    seed: int
    size: DemoSize
    anchor: datetime
    ids: IdBases
    password_hash: str
    demo_instructor_id: int
    demo_student_id: int

    # Facts later tables need, filled in as earlier tables' rows are produced.
    _programme_weights: list[float] = field(default_factory=list)
    _user_ids: list[int] = field(default_factory=list)
    _user_joined: list[float] = field(default_factory=list)
    _instructor_ids: list[int] = field(default_factory=list)
    _courses: list[_CourseFacts] = field(default_factory=list)
    _counts: list[int] | None = None
    _reviews: list[Row] = field(default_factory=list)

    # (table, model label, fields in row order)
    TABLES = (
        ("categories", "courses.Category", ("id", "name", "slug")),
        (
            "programmes",
            "programmes.Programme",
            ("id", "title", "slug", "summary", "description", "is_active", "created_at", "updated_at"),
        ),
        (
            "users",
            "accounts.User",
            (
                "id",
                "password",
                "is_superuser",
                "first_name",
                "last_name",
                "is_staff",
                "is_active",
                "date_joined",
                "email",
                "role",
                "plan",
            ),
        ),
        (
            "courses",
            "courses.Course",
            (
                "id",
                "title",
                "slug",
                "summary",
                "description",
                "category_id",
                "instructor_id",
                "price",
                "capacity",
                "is_published",
                "created_at",
                "updated_at",
            ),
        ),
        ("programme_courses", "programmes.ProgrammeCourse", ("id", "programme_id", "course_id", "position")),
        (
            "enrollments",
            "courses.Enrollment",
            ("id", "user_id", "course_id", "status", "progress", "amount_paid", "enrolled_at", "completed_at"),
        ),
        ("reviews", "courses.Review", ("id", "user_id", "course_id", "rating", "comment", "created_at")),
    )

    @property
    def _now(self) -> float:
        return self.anchor.timestamp()

    def rows(self, table: str) -> Iterator[Row]:
        return getattr(self, f"{table}_rows")()  # type: ignore[no-any-return]

    def expected_count(self, table: str) -> int | None:
        """How many rows `table` will yield, when known before it is produced (for progress).

        Call it just before producing `table`: the later tables' counts depend on the earlier ones.
        """
        if table == "categories":
            return len(CATEGORIES)
        if table in ("programmes", "users", "courses"):
            return getattr(self.size, table)  # type: ignore[no-any-return]
        if table == "enrollments":
            return sum(self._enrollment_counts())
        if table == "reviews":
            return len(self._reviews)
        return None  # programme_courses: each course draws how many programmes it joins

    # --- Tables --------------------------------------------------------------------------

    def categories_rows(self) -> Iterator[Row]:
        for i, (name, _topics) in enumerate(CATEGORIES):
            yield (self.ids.category + i, name, slugify(name))

    def programmes_rows(self) -> Iterator[Row]:
        rng = _rng(self.seed, "programmes")
        topics = [topic for _name, category_topics in CATEGORIES for topic in category_topics]
        for i in range(self.size.programmes):
            topic = rng.choice(topics)
            title = f"{rng.choice(PROGRAMME_ADJECTIVES)} {topic} {rng.choice(PROGRAMME_KINDS)}"
            created = self._now - rng.uniform(30, 3 * 365) * DAY
            updated = created + rng.random() * (self._now - created)
            # Some programmes are much larger than others.
            self._programme_weights.append(rng.lognormvariate(0, 0.6))
            yield (
                self.ids.programme + i,
                title,
                f"{slugify(title)}-{i + 1}",
                f"{rng.choice(PROGRAMME_PITCHES)} {topic}, one course at a time.",
                " ".join(rng.sample(DESCRIPTION_SENTENCES, 3)),
                rng.random() >= INACTIVE_PROGRAMME_SHARE,
                _dt(created),
                _dt(updated),
            )

    def users_rows(self) -> Iterator[Row]:
        rng = _rng(self.seed, "users")
        self._instructor_ids.append(self.demo_instructor_id)
        for i in range(self.size.users):
            user_id = self.ids.user + i
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            draw = rng.random()
            if draw < STAFF_SHARE:
                role = "staff"
            elif draw < STAFF_SHARE + INSTRUCTOR_SHARE:
                role = "instructor"
                self._instructor_ids.append(user_id)
            else:
                role = "student"
            joined = self._now - rng.uniform(1, 4 * 365) * DAY
            self._user_ids.append(user_id)
            self._user_joined.append(joined)
            yield (
                user_id,
                self.password_hash,
                False,
                first,
                last,
                role == "staff",
                rng.random() >= INACTIVE_USER_SHARE,
                _dt(joined),
                f"{first}.{last}.{i + 1}@{GENERATED_EMAIL_DOMAIN}".lower(),
                role,
                "pro" if rng.random() < PRO_SHARE else "free",
            )
        # The demo student learns alongside the generated users.
        self._user_ids.append(self.demo_student_id)
        self._user_joined.append(self._now - DEMO_ACCOUNT_AGE_DAYS * DAY)

    def courses_rows(self) -> Iterator[Row]:
        rng = _rng(self.seed, "courses")
        demo_courses = min(DEMO_INSTRUCTOR_COURSES, self.size.courses // 10 or 1)
        for i in range(self.size.courses):
            category_index = rng.randrange(len(CATEGORIES))
            category, topics = CATEGORIES[category_index]
            topic = rng.choice(topics)
            title = f"{rng.choice(COURSE_LEVELS)} {topic}{rng.choice(COURSE_SUFFIXES)}"
            instructor = self.demo_instructor_id if i < demo_courses else rng.choice(self._instructor_ids)
            price = rng.choices(PRICES, PRICE_WEIGHTS)[0]
            capacity = rng.choice(CAPACITIES) if rng.random() < CAPPED_SHARE else None
            is_published = i < demo_courses or rng.random() >= UNPUBLISHED_SHARE
            created = self._now - rng.uniform(30, 3 * 365) * DAY
            updated = created + rng.random() * (self._now - created)
            self._courses.append(_CourseFacts(self.ids.course + i, price, capacity, is_published, created))
            yield (
                self.ids.course + i,
                title,
                f"{slugify(title)}-{i + 1}",
                f"{rng.choice(SUMMARY_OPENERS)} {topic} ({category.lower()}).",
                " ".join(rng.sample(DESCRIPTION_SENTENCES, 4)),
                self.ids.category + category_index,
                instructor,
                price,
                capacity,
                is_published,
                _dt(created),
                _dt(updated),
            )

    def programme_courses_rows(self) -> Iterator[Row]:
        """Each course in 1-3 programmes, appended at the programme's next position."""
        rng = _rng(self.seed, "programme_courses")
        programmes = self.size.programmes
        if not programmes:
            return
        cumulative: list[float] = []
        total = 0.0
        for weight in self._programme_weights:
            total += weight
            cumulative.append(total)
        indexes = range(programmes)
        next_position = [0] * programmes
        link_id = self.ids.programme_course
        for course in self._courses:
            wanted = min(programmes, rng.choices((1, 2, 3), (60, 30, 10))[0])
            chosen: list[int] = []
            while len(chosen) < wanted:
                index = rng.choices(indexes, cum_weights=cumulative)[0]
                if index not in chosen:
                    chosen.append(index)
            for index in chosen:
                yield (link_id, self.ids.programme + index, course.id, next_position[index])
                next_position[index] += 1
                link_id += 1

    def enrollments_rows(self) -> Iterator[Row]:
        """Enrollments spread over courses by popularity, each course's learners distinct.

        Reviews are drawn alongside (a held enrollment may leave one) and kept for
        `reviews_rows`, so the two tables agree without a second pass.
        """
        rng = _rng(self.seed, "enrollments")
        counts = self._enrollment_counts()
        pool = len(self._user_ids)
        student_index = pool - 1  # the demo student, appended last by users_rows
        student_courses = self._demo_student_courses(counts)
        # Locals: this loop runs two million times at the large size.
        now = self._now
        user_ids, user_joined = self._user_ids, self._user_joined
        random, sample, choice, choices = rng.random, rng.sample, rng.choice, rng.choices
        to_datetime = datetime.fromtimestamp
        reviews = self._reviews
        ratings = (1, 2, 3, 4, 5)
        completed_below = CANCELLED_SHARE + COMPLETED_SHARE
        enrollment_id = self.ids.enrollment
        review_id = self.ids.review
        for index, count in enumerate(counts):
            if not count:
                continue
            course = self._courses[index]
            course_id, price, created = course.id, course.price, course.created
            if index in student_courses:
                learners = [*sample(range(pool - 1), count - 1), student_index]
            else:
                learners = sample(range(pool), count)
            held_left = course.capacity if course.capacity is not None else count
            for learner in learners:
                user_id = user_ids[learner]
                draw = random()
                start = max(created, user_joined[learner])
                enrolled = start + random() * (now - start)
                completed_at = None
                if draw < CANCELLED_SHARE or not held_left:
                    status = "cancelled"
                    progress = int(random() * 60)
                else:
                    held_left -= 1
                    if draw < completed_below:
                        status = "completed"
                        progress = 100
                        last_seen = enrolled + random() * (now - enrolled)
                        completed_at = to_datetime(last_seen, UTC)
                        share = REVIEW_SHARE_COMPLETED
                    else:
                        status = "active"
                        progress = int(random() * 100)
                        last_seen = enrolled
                        share = REVIEW_SHARE_ACTIVE
                    if random() < share:
                        reviewed = min(last_seen + random() * DAY, now)
                        rating = choices(ratings, RATING_WEIGHTS)[0]
                        reviews.append(
                            (review_id, user_id, course_id, rating, choice(REVIEW_COMMENTS), to_datetime(reviewed, UTC))
                        )
                        review_id += 1
                yield (
                    enrollment_id,
                    user_id,
                    course_id,
                    status,
                    progress,
                    price,
                    to_datetime(enrolled, UTC),
                    completed_at,
                )
                enrollment_id += 1

    def reviews_rows(self) -> Iterator[Row]:
        yield from self._reviews

    # --- Allocation ----------------------------------------------------------------------

    def _enrollment_counts(self) -> list[int]:
        """How many enrollments each course gets: `size.enrollments` in all (when there is
        room), by a long-tailed popularity, drafts rarely, none above a course's limit.

        A capped course may take a quarter more than its capacity: the extra ones are
        cancelled, so popular capped courses end up exactly full.
        """
        if self._counts is not None:
            return self._counts
        rng = _rng(self.seed, "allocation")
        pool = len(self._user_ids)
        limits = [
            min(pool, course.capacity + course.capacity // 4 if course.capacity is not None else pool)
            for course in self._courses
        ]
        weights = [rng.lognormvariate(0, 1.1) * (1.0 if c.is_published else 0.05) for c in self._courses]
        counts = [0] * len(self._courses)
        remaining = self.size.enrollments
        open_courses = [i for i, limit in enumerate(limits) if limit > 0]
        # Largest-remainder shares; a course that hits its limit hands the rest of its share
        # to the others on the next pass (a handful of passes at most).
        while remaining > 0 and open_courses:
            total = sum(weights[i] for i in open_courses)
            handed = 0
            fractions: list[tuple[float, int]] = []
            for i in open_courses:
                share = remaining * weights[i] / total
                whole = int(share)
                room = limits[i] - counts[i]
                if whole >= room:
                    counts[i] += room
                    handed += room
                else:
                    counts[i] += whole
                    handed += whole
                    fractions.append((whole - share, i))
            fractions.sort()
            for _fraction, i in fractions[: remaining - handed]:
                counts[i] += 1  # room was at least whole + 1
                handed += 1
            remaining -= handed
            open_courses = [i for i in open_courses if counts[i] < limits[i]]
        self._counts = counts
        return counts

    def _demo_student_courses(self, counts: list[int]) -> set[int]:
        """Published, uncapped courses with learners, the demo student's own."""
        candidates = [
            i
            for i, course in enumerate(self._courses)
            if course.is_published and course.capacity is None and 0 < counts[i] < len(self._user_ids)
        ]
        step = max(1, len(candidates) // DEMO_STUDENT_ENROLLMENTS)
        return set(candidates[::step][:DEMO_STUDENT_ENROLLMENTS])
