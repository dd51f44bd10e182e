"""The word lists of the analyzer: synonyms, Korean particles and endings, query stop words.

Data only, applied to queries by ``analysis.py``; edit these to tune what a query matches.
"""

from __future__ import annotations

# Synonyms: loanwords and abbreviations that users write in either language. Applied to queries
# only; each entry must be a single word. Add a row to add a group.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("로그인", "login", "signin"),
    ("로그아웃", "logout"),
    ("앱", "app", "어플", "애플리케이션", "어플리케이션", "application"),
    ("비밀번호", "password", "패스워드", "비번"),
    ("환불", "refund"),
    ("결제", "payment"),
    ("배송", "delivery", "shipping"),
    ("주문", "order"),
    ("취소", "cancel"),
    ("계정", "account"),
    ("이메일", "email", "메일"),
    ("쿠폰", "coupon"),
    ("영수증", "receipt"),
    ("오류", "error", "에러"),
    ("업데이트", "update"),
    ("교환", "exchange"),
    ("반품", "return"),
    ("회원가입", "signup"),
    ("카드", "card"),
)

# Particles and endings stripped from the end of a Korean query word, longest first. Stripping
# only makes them optional: their bigrams still rank exact forms higher.
ENDINGS = tuple(
    sorted(
        {
            *("에서는", "에서도", "에게서", "으로는", "으로도", "이라고", "이라는", "에서"),
            *("에게", "한테", "께서", "으로", "부터", "까지", "처럼", "보다", "마다", "이나"),
            *("이랑", "라고", "라는", "은", "는", "이", "가", "을", "를", "에", "의", "로"),
            *("와", "과", "도", "만", "랑", "요", "하려면", "하려고", "하는데", "하는", "하고"),
            *("하기", "하면", "하니", "하세요", "해주세요", "해요", "했어요", "했는데"),
            *("했습니다", "합니다", "하나요", "할", "한", "해", "되나요", "돼요", "되요"),
            *("됐어요", "되었어요", "됩니다", "안돼요", "안되요", "이요", "인데", "입니다"),
            *("이에요", "예요", "어요", "아요", "습니다", "네요", "는데", "까요", "세요"),
            *("어서", "아서", "고요", "죠", "어", "아"),
        },
        key=len,
        reverse=True,
    )
)
# One-syllable nouns whose particle may be stripped from a two-syllable query word (앱이 -> 앱).
# Other two-syllable words keep their last syllable: 문의 is a word, not 문 + 의.
ONE_SYLLABLE_NOUNS = frozenset("앱폰돈값글옷책표키집차")
# Words that carry no topic in a Korean question ("어떻게 환불하나요"): left out of a query unless
# it has nothing else, so that a document does not need them to match.
QUERY_STOP_WORDS = frozenset(
    {
        *("어떻게", "왜", "안", "안돼요", "안되요", "안됨", "돼요", "되나요", "하나요", "있나요"),
        *("있어요", "없어요", "해요", "해주세요", "주세요", "좀", "너무", "정말", "그리고"),
        *("제가", "저는", "나요", "합니다", "싶어요", "싶습니다", "어디서", "언제", "뭐"),
        *("어디", "무엇", "문의드립니다", "부탁드립니다", "감사합니다", "알려주세요"),
    }
)
