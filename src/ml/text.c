/* SPDX-License-Identifier: MIT */
/*
 * text: normalization, tokenization and stemming of one document (see
 * text.h for the contract and docs/TEXT.md for every decision and its reason).
 *
 * The document is cut at ASCII white space (and `|LBR|` markers) into
 * chunks. Cutting there is safe for Unicode normalization: an ASCII space is
 * a starter that never composes with what follows. A chunk of pure ASCII (the
 * common case) is lower-cased through a table, which is exactly what
 * NFKC + case folding does to ASCII; any other chunk goes through utf8proc
 * (decompose with compatibility + case folding + default-ignorable removal,
 * canonical reordering, composition) and then through our Arabic folding.
 * Either way the chunk becomes an array of code points in the analyzer's
 * scratch buffer, which one small state machine turns into words, symbols and
 * placeholders. Words are written straight into t->norm (unstemmed); each
 * finished token is then stemmed (Snowball) or copied into t->buf. Nothing is
 * allocated per token: buffers only grow, amortized, and are reused across
 * documents.
 *
 * text_analyze_spans() runs the same code with spans set: every code point
 * in the scratch buffer then also carries the input bytes it came from
 * (a->src), through decomposition, canonical reordering, composition and our
 * folding, and each token records the bytes of its first and last code point.
 * Composition is the one step that merges code points, and utf8proc does not
 * say which merged into which; so spans mode composes each segment (a source
 * code point that starts with a starter, plus the marks that follow it) on its
 * own, gives each result the segment's bytes, and keeps that mapping only if
 * the segments' results put together equal the whole chunk's composition
 * (else the chunk's code points all get the chunk's bytes). All of this is
 * behind `if (spans)` tests on a compile-time constant (TEXT_SPECIALIZED), so
 * text_analyze() does none of it.
 */
#include "text.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>
#include <utf8proc.h>
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* Documents above this size are refused (the API caps bodies far lower). */
#define TEXT_MAX_INPUT ((size_t)1 << 30)

/* A chunk of at least this many base64 characters, mixing cases and digits,
 * is taken for a base64 (MIME) line and skipped. */
#define TEXT_BASE64_MIN 40

/* NFKC_Casefold as utf8proc defines it (utf8proc_NFKC_Casefold), minus NULLTERM. */
#define TEXT_UTF8PROC_OPTS                                                                         \
    (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

/* Only digit runs longer than this become TEXT_TOKEN_NUM. */
#define TEXT_NUM_KEEP_DIGITS 4

/* Stem cache: direct-mapped, words of at most TEXT_CACHE_WORD bytes. Word
 * frequencies are Zipfian, so a small cache answers most lookups and saves
 * most of the Snowball time (measured: the stemmer was 60% of the run). */
#define TEXT_CACHE_SLOTS 8192 /* power of two */
#define TEXT_CACHE_WORD 24

struct text_cache_slot {
    unsigned char klen, slen; /* klen 0: empty */
    char key[TEXT_CACHE_WORD];
    char stem[TEXT_CACHE_WORD];
};

/*
 * Spans mode only: the input bytes [start, end) that a code point of the
 * current chunk came from (absolute offsets in the document). seg marks the
 * first code point of a composition segment (see text_src_compose()). Until
 * text_src_compose() has run, src[i] may describe another code point of
 * cp[i]'s segment (canonical reordering moves marks, not their entries).
 */
struct text_src {
    size_t start, end;
    int seg;
};

struct text_analyzer {
    struct sb_stemmer *stemmer;
    struct text_cache_slot *cache; /* TEXT_CACHE_SLOTS slots */
    utf8proc_int32_t *cp;          /* code points of the current chunk */
    size_t cp_cap;
    /* Spans mode only (NULL until text_analyze_spans() needs them): */
    struct text_src *src; /* src[i]: where cp[i] came from */
    size_t src_cap;
    utf8proc_int32_t *seg_cp; /* the chunk's decomposed code points, composed per segment */
    size_t seg_cp_cap;
};

/* Character classes of the tokenizer. */
enum {
    C_SEP = 0, /* separates words, dropped */
    C_LET,     /* letter (or non-ASCII number): part of a word, word is stemmed */
    C_DIG,     /* ASCII digit: part of a word */
    C_MARK,    /* combining mark: continues a word, dropped elsewhere */
    C_APOS,    /* apostrophe: kept between two letters */
    C_SYM      /* symbol: a token of its own */
};

/* Bits of text_ascii[]. */
enum {
    A_SPACE = 1 << 3, /* chunk separator */
    A_LOCAL = 1 << 4, /* may appear in an e-mail local part */
    A_URL = 1 << 5,   /* may appear in a URL */
    A_B64 = 1 << 6,   /* base64 alphabet */
    A_CLASS = 7       /* mask of the C_* class (of the lower-cased character) */
};

/* clang-format off */
#define L (C_LET | A_LOCAL | A_URL | A_B64)
#define D (C_DIG | A_LOCAL | A_URL | A_B64)
#define U (C_SEP | A_URL)
static const unsigned char text_ascii[128] = {
    /* controls; \t \n \v \f \r are white space */
    0, 0, 0, 0, 0, 0, 0, 0, 0, A_SPACE, A_SPACE, A_SPACE, A_SPACE, A_SPACE, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /*    space    !  "  #  $                 %            &  '       (  )  *
       +                       ,  -                    .                    / */
    A_SPACE, U, 0, U, C_SYM | A_URL, U | A_LOCAL, U, C_APOS, U, U, U, U | A_LOCAL | A_B64, U,
    U | A_LOCAL, U | A_LOCAL, U | A_B64,
    /* 0-9 : ; < = > ? */
    D, D, D, D, D, D, D, D, D, D, U, U, 0, U | A_B64, 0, U,
    /* @ A-Z [ \ ] ^ _ */
    U, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,
    L, L, L, L, L, L, L, L, L, L, L, U, 0, U, 0, U | A_LOCAL,
    /* ` a-z { | } ~ DEL */
    0, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,
    L, L, L, L, L, L, L, L, L, L, L, 0, 0, 0, U, 0,
};
#undef L
#undef D
#undef U
/* clang-format on */

/* Per-document state of the tokenizer. */
struct text_run {
    struct text_analyzer *a;
    struct text_tokens *t;
    int in_word;
    size_t w_mark;  /* norm_len before the word (and its separating space) */
    size_t w_start; /* offset of the word's first byte in norm */
    int w_letters;  /* the word has a letter: stem it */
    int w_digits;   /* the word is a number so far: digits and inner '.' ',' */
    size_t w_ndig;  /* digits in the word */
    int w_fold;     /* the word holds teh marbuta or alef maqsura (see norm_fold) */
};

/*
 * The analyzer is one body of code for both text_analyze() and
 * text_analyze_spans(): the functions that take `const int spans` are forced
 * inline into both, with spans a constant there, so the compiler drops every
 * `if (spans)` block from text_analyze()'s copy: the training path does no
 * span work at all, not even a test per token.
 */
#define TEXT_SPECIALIZED static inline __attribute__((always_inline))

static int text_grow(void **p, size_t *cap, size_t need, size_t elem, struct err *err)
{
    void *np = util_grow(*p, cap, need, elem, 64);

    if (!np) {
        err_set(err, ERR_NOMEM, "text: out of memory");
        return -1;
    }
    *p = np;
    return 0;
}

int text_lang_supported(const char *lang)
{
    return lang && (!strcmp(lang, "en") || !strcmp(lang, "de") || !strcmp(lang, "ar"));
}

struct text_analyzer *text_analyzer_new(const char *lang, struct err *err)
{
    struct text_analyzer *a = NULL;
    const char *algo;

    if (!text_lang_supported(lang)) {
        err_set(err, ERR_INVALID, "unsupported language (expected \"en\", \"de\" or \"ar\")");
        return NULL;
    }
    algo = !strcmp(lang, "en") ? "english" : !strcmp(lang, "de") ? "german" : "arabic";
    a = calloc(1, sizeof(*a));
    if (!a) {
        err_set(err, ERR_NOMEM, "text: out of memory");
        return NULL;
    }
    a->cache = calloc(TEXT_CACHE_SLOTS, sizeof(*a->cache));
    if (!a->cache) {
        err_set(err, ERR_NOMEM, "text: out of memory");
        free(a);
        return NULL;
    }
    a->stemmer = sb_stemmer_new(algo, "UTF_8");
    if (!a->stemmer) {
        /* libstemmer returns NULL both for an unknown algorithm and for ENOMEM;
         * the algorithm names above are fixed, so it is memory. */
        err_set(err, ERR_NOMEM, "text: cannot create the %s stemmer", algo);
        free(a->cache);
        free(a);
        return NULL;
    }
    return a;
}

void text_analyzer_free(struct text_analyzer *a)
{
    if (!a)
        return;
    sb_stemmer_delete(a->stemmer);
    free(a->cache);
    free(a->cp);
    free(a->src);
    free(a->seg_cp);
    free(a);
}

void text_tokens_init(struct text_tokens *t)
{
    memset(t, 0, sizeof(*t));
}

void text_tokens_release(struct text_tokens *t)
{
    if (!t)
        return;
    free(t->buf);
    free(t->off);
    free(t->tlen);
    free(t->src_start);
    free(t->src_end);
    free(t->norm);
    text_tokens_init(t);
}

/*
 * Our folding after NFKC_Casefold, for non-ASCII code points: returns the
 * replacement, or -1 to delete the code point, or 0x20 to make it a separator.
 * Teh marbuta and alef maqsura are kept here (the stemmer needs them) and
 * folded in norm only, see norm_fold().
 */
static inline utf8proc_int32_t text_fold(utf8proc_int32_t c)
{
    if (c < 0x0600) {
        if (c == 0x02BC) /* modifier letter apostrophe */
            return '\'';
        return c;
    }
    if (c <= 0x06FF) {
        if ((c >= 0x064B && c <= 0x065F) || c == 0x0670 || (c >= 0x0610 && c <= 0x061A) ||
            (c >= 0x06D6 && c <= 0x06DC) || (c >= 0x06DF && c <= 0x06E4) || c == 0x06E7 ||
            c == 0x06E8 || (c >= 0x06EA && c <= 0x06ED) || c == 0x0640)
            return -1; /* harakat, Quranic marks, superscript alef, tatweel */
        if (c == 0x0622 || c == 0x0623 || c == 0x0625 || (c >= 0x0671 && c <= 0x0673))
            return 0x0627; /* alef with madda / hamza above / hamza below / wasla / wavy hamza */
        if (c >= 0x0660 && c <= 0x0669)
            return '0' + (c - 0x0660); /* Arabic-Indic digits */
        if (c >= 0x06F0 && c <= 0x06F9)
            return '0' + (c - 0x06F0); /* extended (Persian) digits */
        if (c == 0x06CC)
            return 0x064A; /* Farsi yeh */
        if (c == 0x06A9)
            return 0x0643; /* keheh */
        return c;
    }
    if (c == 0x2018 || c == 0x2019 || c == 0x201B || c == 0x2032)
        return '\''; /* typographic apostrophes and prime */
    if (c == 0xFFFD)
        return 0x20; /* replacement character: a separator, not a symbol */
    return c;
}

/* text_class() of a non-ASCII code point. */
static int text_class_uni(utf8proc_int32_t c)
{
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return C_LET;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return C_MARK;
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
        return C_SYM;
    default:
        return C_SEP;
    }
}

/*
 * The C_* class of c. The small hot helpers of the tokenizer are declared
 * inline: without the hint GCC's heuristics stop inlining them as soon as
 * their call sites multiply, as they do with the two copies of the analyzer
 * that TEXT_SPECIALIZED makes.
 */
static inline int text_class(utf8proc_int32_t c)
{
    return c < 0x80 ? text_ascii[c] & A_CLASS : text_class_uni(c);
}

static inline int text_is_ascii(utf8proc_int32_t c, unsigned bit)
{
    return c >= 0 && c < 0x80 && (text_ascii[c] & bit);
}

/* ASCII letter or digit (after lower-casing). */
static inline int text_is_alnum(utf8proc_int32_t c)
{
    return c >= 0 && c < 0x80 &&
           ((text_ascii[c] & A_CLASS) == C_LET || (text_ascii[c] & A_CLASS) == C_DIG);
}

/* Hangul vowel or trailing consonant jamo: a starter that composes with the
 * syllable before it, so it continues that syllable's composition segment. */
static int text_hangul_vt(utf8proc_int32_t c)
{
    return (c >= 0x1161 && c <= 0x1175) || (c >= 0x11A8 && c <= 0x11C2);
}

/*
 * Spans mode: composition. a->cp holds the kd decomposed, reordered code
 * points of a chunk, a->src where the code points of each segment came from,
 * and a->seg_cp a copy of a->cp made before a->cp was composed in place into
 * kc code points. Compose each segment of seg_cp alone (a segment starts at an
 * entry with src.seg set: the first code point of a source code point that
 * decomposes to a starter; Hangul V/T jamo excepted) and give its results the
 * segment's bytes. If the segments' results, joined, differ from a->cp
 * (something composed across a segment boundary), give every code point
 * [fb_start, fb_end) instead: the chunk's bytes from its first to its last
 * valid code point. Either way a->src[i] then covers a->cp[i], i < kc.
 */
static void text_src_compose(struct text_analyzer *a, size_t kd, size_t kc, size_t fb_start,
                             size_t fb_end)
{
    size_t b = 0, w = 0, j;

    while (b < kd) {
        size_t e = b + 1, lo = a->src[b].start, hi = a->src[b].end;
        utf8proc_ssize_t m;

        for (; e < kd && !a->src[e].seg; e++) {
            lo = a->src[e].start < lo ? a->src[e].start : lo;
            hi = a->src[e].end > hi ? a->src[e].end : hi;
        }
        /* w <= b and m <= e - b: the results never overwrite what is still to be read */
        memmove(a->seg_cp + w, a->seg_cp + b, (e - b) * sizeof(*a->seg_cp));
        m = utf8proc_normalize_utf32(a->seg_cp + w, (utf8proc_ssize_t)(e - b), TEXT_UTF8PROC_OPTS);
        if (m < 0 || (size_t)m > e - b || w + (size_t)m > kc) {
            w = kc + 1; /* force the fallback */
            break;
        }
        for (j = w; j < w + (size_t)m; j++) {
            a->src[j].start = lo;
            a->src[j].end = hi;
            a->src[j].seg = 0;
        }
        w += (size_t)m;
        b = e;
    }
    if (w != kc || memcmp(a->seg_cp, a->cp, kc * sizeof(*a->cp)) != 0) {
        /* fb_start is SIZE_MAX only for a chunk of invalid bytes, which are all
         * separators: then no token reads these entries */
        for (j = 0; j < kc; j++) {
            a->src[j].start = fb_start;
            a->src[j].end = fb_end;
            a->src[j].seg = 0;
        }
    }
}

/*
 * Decode, NFKC_Casefold and fold one chunk containing non-ASCII bytes into
 * a->cp; the chunk starts at byte base of the document. With spans set, also
 * fill a->src (see struct text_src). Returns the number of code points, or
 * -1 (ERR_NOMEM).
 */
TEXT_SPECIALIZED long text_normalize_chunk(struct text_analyzer *a, const unsigned char *p,
                                           size_t len, size_t base, const int spans,
                                           struct err *err)
{
    size_t pos = 0, k = 0, i, w;
    size_t fb_start = SIZE_MAX, fb_end = 0; /* spans: first and last valid byte */
    int nonzero_ccc = 0;

    while (pos < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t r;
        size_t at = pos;
        int bc = 0, valid = 1;

        if (p[pos] < 0x80) {
            c = p[pos] >= 'A' && p[pos] <= 'Z' ? p[pos] + 32 : p[pos];
            pos++;
        } else {
            r = utf8proc_iterate(p + pos, (utf8proc_ssize_t)(len - pos), &c);
            if (r < 0) {
                c = 0x20; /* a byte that is no valid UTF-8: separator */
                valid = 0;
                pos++;
            } else {
                pos += (size_t)r;
            }
        }
        if (text_grow((void **)&a->cp, &a->cp_cap, k + 32, sizeof(*a->cp), err) < 0)
            return -1;
        if (c < 0x80) {
            a->cp[k] = c;
            r = 1;
        } else {
            for (;;) {
                r = utf8proc_decompose_char(c, a->cp + k, (utf8proc_ssize_t)(a->cp_cap - k),
                                            TEXT_UTF8PROC_OPTS, &bc);
                if (r < 0) { /* cannot happen for a valid code point; be safe */
                    r = 0;
                    break;
                }
                if ((size_t)r <= a->cp_cap - k)
                    break;
                if (text_grow((void **)&a->cp, &a->cp_cap, k + (size_t)r, sizeof(*a->cp), err) < 0)
                    return -1;
            }
            for (i = k; i < k + (size_t)r; i++)
                if (a->cp[i] >= 0x300 && utf8proc_get_property(a->cp[i])->combining_class)
                    nonzero_ccc = 1;
        }
        if (spans) {
            int seg;

            if (text_grow((void **)&a->src, &a->src_cap, a->cp_cap, sizeof(*a->src), err) < 0)
                return -1;
            seg = r > 0 && !utf8proc_get_property(a->cp[k])->combining_class &&
                  !text_hangul_vt(a->cp[k]);
            for (i = k; i < k + (size_t)r; i++) {
                a->src[i].start = base + at;
                a->src[i].end = base + pos;
                a->src[i].seg = seg && i == k;
            }
            if (valid) {
                fb_start = fb_start == SIZE_MAX ? base + at : fb_start;
                fb_end = base + pos;
            }
        }
        k += (size_t)r;
    }
    /* Canonical ordering of combining marks, as utf8proc_decompose_custom does. */
    if (nonzero_ccc && k > 1) {
        i = 0;
        while (i < k - 1) {
            utf8proc_int32_t c1 = a->cp[i], c2 = a->cp[i + 1];
            int cc1 = utf8proc_get_property(c1)->combining_class;
            int cc2 = utf8proc_get_property(c2)->combining_class;

            if (cc1 > cc2 && cc2 > 0) {
                /* a->src need not follow: only marks move, never past a starter,
                 * so within a segment, and text_src_compose() gives every code
                 * point of a segment the segment's bytes */
                a->cp[i] = c2;
                a->cp[i + 1] = c1;
                if (i > 0)
                    i--;
                else
                    i++;
            } else {
                i++;
            }
        }
    }
    if (k > 0) {
        size_t kd = k;
        utf8proc_ssize_t n;

        if (spans) {
            if (text_grow((void **)&a->seg_cp, &a->seg_cp_cap, kd, sizeof(*a->seg_cp), err) < 0)
                return -1;
            memcpy(a->seg_cp, a->cp, kd * sizeof(*a->cp));
        }
        n = utf8proc_normalize_utf32(a->cp, (utf8proc_ssize_t)k, TEXT_UTF8PROC_OPTS);
        k = n > 0 ? (size_t)n : 0;
        if (spans)
            text_src_compose(a, kd, k, fb_start, fb_end);
    }
    if (spans) {
        for (i = 0, w = 0; i < k; i++) {
            utf8proc_int32_t c = a->cp[i] < 0x80 ? a->cp[i] : text_fold(a->cp[i]);

            if (c >= 0) {
                a->src[w] = a->src[i];
                a->cp[w++] = c;
            }
        }
        return (long)w;
    }
    for (i = 0, w = 0; i < k; i++) {
        utf8proc_int32_t c = a->cp[i] < 0x80 ? a->cp[i] : text_fold(a->cp[i]);

        if (c >= 0)
            a->cp[w++] = c;
    }
    return (long)w;
}

/* Append one code point to norm; capacity was reserved per chunk. */
static inline void text_put(struct text_tokens *t, utf8proc_int32_t c)
{
    assert(t->norm_len + 4 < t->norm_cap);
    if (c < 0x80)
        t->norm[t->norm_len++] = (char)c;
    else
        t->norm_len += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)t->norm + t->norm_len);
}

/* Start a token in norm: a separating space unless it is the first. */
static void text_begin(struct text_run *r)
{
    struct text_tokens *t = r->t;

    r->w_mark = t->norm_len;
    if (t->n > 0)
        t->norm[t->norm_len++] = ' ';
    r->w_start = t->norm_len;
}

/*
 * Stem the n bytes at word (via the cache). Returns the stem, valid until the
 * next call, with its length in *out_n; NULL with ERR_NOMEM.
 */
static const char *text_stem(struct text_analyzer *a, const char *word, size_t n, size_t *out_n,
                             struct err *err)
{
    struct text_cache_slot *slot = NULL;
    const sb_symbol *s;
    size_t sn;

    if (n <= TEXT_CACHE_WORD) {
        static const unsigned char key[UTIL_HASH_KEY] = "modeld/stemcache";
        uint64_t h = util_hash64(key, word, n);

        slot = &a->cache[h & (TEXT_CACHE_SLOTS - 1)];
        if (slot->klen == n && !memcmp(slot->key, word, n)) {
            *out_n = slot->slen;
            return slot->stem;
        }
    }
    s = sb_stemmer_stem(a->stemmer, (const sb_symbol *)word, (int)n);
    if (!s) {
        err_set(err, ERR_NOMEM, "text: out of memory in the stemmer");
        return NULL;
    }
    sn = (size_t)sb_stemmer_length(a->stemmer);
    if (sn == 0) { /* never seen; keep the word rather than an empty token */
        *out_n = n;
        return word;
    }
    if (slot && sn <= TEXT_CACHE_WORD) {
        slot->klen = (unsigned char)n;
        slot->slen = (unsigned char)sn;
        memcpy(slot->key, word, n);
        memcpy(slot->stem, s, sn);
    }
    *out_n = sn;
    return (const char *)s;
}

/* Record norm[r->w_start, norm_len) as the next token, stemmed if stem is set. */
static int text_emit(struct text_run *r, int stem, struct err *err)
{
    struct text_tokens *t = r->t;
    const char *src = t->norm + r->w_start;
    size_t n = t->norm_len - r->w_start;

    if (stem && !(src = text_stem(r->a, src, n, &n, err)))
        return -1;
    if (text_grow((void **)&t->buf, &t->cap, t->len + n + 1, 1, err) < 0)
        return -1;
    if (t->n == t->ncap) {
        size_t ncap = t->ncap;

        if (text_grow((void **)&t->off, &ncap, t->n + 1, sizeof(*t->off), err) < 0)
            return -1;
        ncap = t->ncap;
        if (text_grow((void **)&t->tlen, &ncap, t->n + 1, sizeof(*t->tlen), err) < 0)
            return -1;
        t->ncap = ncap;
    }
    memcpy(t->buf + t->len, src, n);
    t->buf[t->len + n] = '\0';
    t->off[t->n] = t->len;
    t->tlen[t->n] = n;
    t->len += n + 1;
    t->n++;
    return 0;
}

/* A placeholder or symbol token (never stemmed). */
static int text_emit_literal(struct text_run *r, const char *s, struct err *err)
{
    size_t n = strlen(s);

    text_begin(r);
    memcpy(r->t->norm + r->t->norm_len, s, n);
    r->t->norm_len += n;
    return text_emit(r, 0, err);
}

/*
 * Spans mode, after an emit: if tokens were recorded since there were n0 (one
 * at most), the last one came from the code points a->cp[b, e): record the
 * input bytes from the first byte of a->cp[b] to the end of a->cp[e - 1].
 */
static int text_span(struct text_run *r, size_t n0, size_t b, size_t e, struct err *err)
{
    struct text_tokens *t = r->t;
    const struct text_src *src = r->a->src;

    if (t->n == n0)
        return 0;
    assert(t->n == n0 + 1 && b < e);
    assert(src[b].start < src[e - 1].end);
    if (t->n > t->src_cap) {
        size_t cap = t->src_cap;

        if (text_grow((void **)&t->src_start, &cap, t->n, sizeof(*t->src_start), err) < 0)
            return -1;
        cap = t->src_cap;
        if (text_grow((void **)&t->src_end, &cap, t->n, sizeof(*t->src_end), err) < 0)
            return -1;
        t->src_cap = cap;
    }
    t->src_start[n0] = src[b].start;
    t->src_end[n0] = src[e - 1].end;
    return 0;
}

/*
 * In norm only: teh marbuta -> heh, alef maqsura -> yeh (both 2 bytes in
 * UTF-8, so in place), so that spelling variants share character n-grams.
 */
static void text_norm_fold(char *s, size_t n)
{
    size_t i;

    for (i = 0; i + 1 < n; i++) {
        unsigned char b0 = (unsigned char)s[i], b1 = (unsigned char)s[i + 1];

        if (b0 == 0xD8 && b1 == 0xA9) { /* U+0629 -> U+0647 */
            s[i] = (char)0xD9;
            s[i + 1] = (char)0x87;
        } else if (b0 == 0xD9 && b1 == 0x89) { /* U+0649 -> U+064A */
            s[i + 1] = (char)0x8A;
        }
    }
}

/* Finish the current word: drop it, make it "<num>", or stem and record it. */
static int text_end_word(struct text_run *r, struct err *err)
{
    struct text_tokens *t = r->t;
    int rc;

    if (!r->in_word)
        return 0;
    r->in_word = 0;
    if (t->norm_len - r->w_start > TEXT_TOKEN_MAX) {
        t->norm_len = r->w_mark; /* too long: dropped, see TEXT_TOKEN_MAX */
        return 0;
    }
    if (r->w_digits && r->w_ndig > TEXT_NUM_KEEP_DIGITS) {
        t->norm_len = r->w_mark;
        return text_emit_literal(r, TEXT_TOKEN_NUM, err);
    }
    rc = text_emit(r, r->w_letters, err);
    if (r->w_fold)
        text_norm_fold(t->norm + r->w_start, t->norm_len - r->w_start);
    return rc;
}

/* End of a URL starting at i, or 0 when there is none. */
static inline size_t text_match_url(const utf8proc_int32_t *cp, size_t i, size_t k)
{
    static const char *const pre[] = {"http://", "https://", "ftp://", "www."};
    size_t j, m, q;

    for (m = 0; m < sizeof(pre) / sizeof(pre[0]); m++) {
        for (q = 0; pre[m][q] && i + q < k && cp[i + q] == pre[m][q]; q++)
            ;
        if (pre[m][q] || i + q >= k || !text_is_ascii(cp[i + q], A_URL))
            continue;
        for (j = i + q; j < k && text_is_ascii(cp[j], A_URL); j++)
            ;
        return j;
    }
    return 0;
}

/* End of an e-mail address whose local part starts at i, or 0. */
static inline size_t text_match_email(const utf8proc_int32_t *cp, size_t i, size_t k)
{
    size_t j = i, d, last_dot = 0, end;

    while (j < k && text_is_ascii(cp[j], A_LOCAL))
        j++;
    if (j == i || j + 1 >= k || cp[j] != '@')
        return 0;
    for (d = j + 1; d < k; d++) {
        utf8proc_int32_t c = cp[d];

        if (c == '.') {
            if (d == j + 1 || cp[d - 1] == '.')
                break;
            last_dot = d;
        } else if (c != '-' && !text_is_alnum(c)) {
            break;
        }
    }
    end = d;
    if (end > j + 1 && cp[end - 1] == '.') { /* a sentence's full stop */
        end--;
        last_dot = 0;
        for (d = j + 1; d < end; d++)
            if (cp[d] == '.')
                last_dot = d;
    }
    if (!last_dot || end - last_dot < 3)
        return 0;
    for (d = last_dot + 1; d < end; d++)
        if ((text_ascii[cp[d]] & A_CLASS) != C_LET)
            return 0;
    return end;
}

/*
 * Tokenize the k code points of the current chunk (in r->a->cp). In spans
 * mode also record each token's input bytes (from r->a->src): a word is
 * cp[w_cp, i) when it ends at i, every other token the code points it
 * consumed.
 */
TEXT_SPECIALIZED int text_tokenize_chunk(struct text_run *r, size_t k, int has_at, const int spans,
                                         struct err *err)
{
    const utf8proc_int32_t *cp = r->a->cp;
    struct text_tokens *t = r->t;
    size_t i = 0, e, w_cp = 0, n0;

    /* Each code point adds at most 4 bytes and a separating space; a placeholder
     * never exceeds that budget for the code points it replaces (+ NUL). */
    if (k > (SIZE_MAX - t->norm_len) / 8 ||
        text_grow((void **)&t->norm, &t->norm_cap, t->norm_len + 5 * k + 8, 1, err) < 0)
        return -1;
    while (i < k) {
        utf8proc_int32_t c = cp[i];
        int cls = text_class(c);

        if (has_at && text_is_ascii(c, A_LOCAL) && (i == 0 || !text_is_ascii(cp[i - 1], A_LOCAL)) &&
            (e = text_match_email(cp, i, k)) > 0) {
            n0 = t->n;
            if (text_end_word(r, err) < 0 || (spans && text_span(r, n0, w_cp, i, err) < 0))
                return -1;
            n0 = t->n;
            if (text_emit_literal(r, TEXT_TOKEN_EMAIL, err) < 0 ||
                (spans && text_span(r, n0, i, e, err) < 0))
                return -1;
            i = e;
            continue;
        }
        if (r->in_word) {
            if (cls == C_LET || cls == C_MARK) {
                r->w_letters = 1;
                r->w_digits = 0;
                if (c == 0x0629 || c == 0x0649)
                    r->w_fold = 1;
                text_put(t, c);
                i++;
                continue;
            }
            if (cls == C_DIG) {
                r->w_ndig++;
                text_put(t, c);
                i++;
                continue;
            }
            if (cls == C_APOS && i + 1 < k && r->w_letters && text_class(cp[i - 1]) == C_LET &&
                text_class(cp[i + 1]) == C_LET) {
                text_put(t, '\'');
                i++;
                continue;
            }
            if ((c == '.' || c == ',') && r->w_digits && i + 1 < k &&
                text_class(cp[i + 1]) == C_DIG) {
                text_put(t, c);
                i++;
                continue;
            }
            n0 = t->n;
            if (text_end_word(r, err) < 0 || (spans && text_span(r, n0, w_cp, i, err) < 0))
                return -1;
        }
        if (cls == C_LET || cls == C_DIG) {
            if ((c == 'h' || c == 'f' || c == 'w') && (e = text_match_url(cp, i, k)) > 0) {
                n0 = t->n;
                if (text_emit_literal(r, TEXT_TOKEN_URL, err) < 0 ||
                    (spans && text_span(r, n0, i, e, err) < 0))
                    return -1;
                i = e;
                continue;
            }
            text_begin(r);
            r->in_word = 1;
            r->w_letters = cls == C_LET;
            r->w_digits = cls == C_DIG;
            r->w_ndig = cls == C_DIG;
            r->w_fold = c == 0x0629 || c == 0x0649;
            w_cp = i;
            text_put(t, c);
            i++;
            continue;
        }
        if (cls == C_SYM) {
            text_begin(r);
            text_put(t, c);
            n0 = t->n;
            if (text_emit(r, 0, err) < 0 || (spans && text_span(r, n0, i, i + 1, err) < 0))
                return -1;
            i++;
            continue;
        }
        /* @mention: '@' not glued to a word, then [a-z0-9_]+ */
        if (c == '@' && i + 1 < k && text_is_alnum(cp[i + 1]) &&
            (i == 0 || text_class(cp[i - 1]) == C_SEP || text_class(cp[i - 1]) == C_SYM)) {
            for (e = i + 1; e < k && (cp[e] == '_' || text_is_alnum(cp[e])); e++)
                ;
            n0 = t->n;
            if (text_emit_literal(r, TEXT_TOKEN_USER, err) < 0 ||
                (spans && text_span(r, n0, i, e, err) < 0))
                return -1;
            i = e;
            continue;
        }
        i++; /* separator, or a mark / apostrophe outside a word */
    }
    if (!spans)
        return text_end_word(r, err);
    n0 = t->n;
    if (text_end_word(r, err) < 0 || text_span(r, n0, w_cp, k, err) < 0)
        return -1;
    return 0;
}

/* 1 if p[0, len) looks like a line of base64 (see TEXT_BASE64_MIN). */
static inline int text_is_base64(const unsigned char *p, size_t len)
{
    size_t i;
    int up = 0, lo = 0, dig = 0;

    if (len < TEXT_BASE64_MIN)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char c = p[i];

        if (c >= 0x80 || !(text_ascii[c] & A_B64))
            return 0;
        up |= c >= 'A' && c <= 'Z';
        lo |= c >= 'a' && c <= 'z';
        dig |= c >= '0' && c <= '9';
    }
    return up && lo && dig;
}

/* Length of a `|LBR|` marker (any case) at p (len bytes left), else 0. */
static inline size_t text_lbr(const unsigned char *p, size_t len)
{
    return len >= 5 && p[0] == '|' && (p[1] | 0x20) == 'l' && (p[2] | 0x20) == 'b' &&
                   (p[3] | 0x20) == 'r' && p[4] == '|'
               ? 5
               : 0;
}

/* text_analyze() (spans 0) and text_analyze_spans() (spans 1). */
TEXT_SPECIALIZED int text_run_doc(struct text_analyzer *a, const char *utf8, size_t len,
                                  struct text_tokens *t, const int spans, struct err *err)
{
    const unsigned char *p = (const unsigned char *)utf8;
    struct text_run r;
    size_t i = 0, lbr;

    if (!a || !t || (!utf8 && len > 0)) {
        err_set(err, ERR_INVALID, "text: missing analyzer, tokens or text");
        return -1;
    }
    t->len = 0;
    t->n = 0;
    t->norm_len = 0;
    if (t->norm)
        t->norm[0] = '\0';
    if (len > TEXT_MAX_INPUT) {
        err_set(err, ERR_TOO_LARGE, "text: document too large");
        return -1;
    }
    memset(&r, 0, sizeof(r));
    r.a = a;
    r.t = t;
    /* Most documents need about as many bytes of norm and tokens as input:
     * reserve once instead of doubling many times. */
    if (text_grow((void **)&t->norm, &t->norm_cap, len + 16, 1, err) < 0 ||
        text_grow((void **)&t->buf, &t->cap, len + 16, 1, err) < 0)
        goto fail;
    while (i < len) {
        size_t start;
        unsigned char hi = 0, at = 0;
        long k;

        if (p[i] < 0x80 && (text_ascii[p[i]] & A_SPACE)) {
            i++;
            continue;
        }
        if ((lbr = text_lbr(p + i, len - i)) > 0) {
            i += lbr;
            continue;
        }
        start = i;
        for (; i < len; i++) {
            unsigned char c = p[i];

            if (c < 0x80 && (text_ascii[c] & A_SPACE))
                break;
            if (c == '|' && text_lbr(p + i, len - i))
                break;
            hi |= c;
            at |= c == '@';
        }
        if (!(hi & 0x80)) {
            size_t j, n = i - start;

            if (text_is_base64(p + start, n))
                continue;
            if (text_grow((void **)&a->cp, &a->cp_cap, n, sizeof(*a->cp), err) < 0)
                goto fail;
            for (j = 0; j < n; j++) {
                unsigned char c = p[start + j];

                a->cp[j] = c >= 'A' && c <= 'Z' ? c + 32 : c;
            }
            if (spans) {
                if (text_grow((void **)&a->src, &a->src_cap, n, sizeof(*a->src), err) < 0)
                    goto fail;
                for (j = 0; j < n; j++) {
                    a->src[j].start = start + j;
                    a->src[j].end = start + j + 1;
                    a->src[j].seg = 1;
                }
            }
            k = (long)n;
        } else {
            k = text_normalize_chunk(a, p + start, i - start, start, spans, err);
            if (k < 0)
                goto fail;
        }
        if (text_tokenize_chunk(&r, (size_t)k, at, spans, err) < 0)
            goto fail;
    }
    t->norm[t->norm_len] = '\0';
    return 0;
fail:
    t->len = 0;
    t->n = 0;
    t->norm_len = 0;
    if (t->norm)
        t->norm[0] = '\0';
    return -1;
}

int text_analyze(struct text_analyzer *a, const char *utf8, size_t len, struct text_tokens *t,
                 struct err *err)
{
    return text_run_doc(a, utf8, len, t, 0, err);
}

int text_analyze_spans(struct text_analyzer *a, const char *utf8, size_t len, struct text_tokens *t,
                       struct err *err)
{
    return text_run_doc(a, utf8, len, t, 1, err);
}
