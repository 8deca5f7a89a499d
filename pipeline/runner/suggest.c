/* "Did you mean": edit distance between names and the closest candidate worth suggesting. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runner_internal.h"

#define MAX_WORD 64

/* A fuzzing build traces every comparison to steer its mutations; the distance table's are
 * thousands per misspelt name and say nothing about the input's structure. */
#if defined(__clang__) && __clang_major__ >= 13
#define NOT_TRACED __attribute__((no_sanitize("coverage")))
#else
#define NOT_TRACED
#endif

/* Optimal string alignment distance over lower-cased text, on three rolling rows, or limit + 1
 * as soon as it must exceed limit: no later row can go below a row's minimum (an adjacent
 * transposition reaches back two rows, so the minimum of the last two rows decides). Words
 * longer than MAX_WORD are compared on their first MAX_WORD characters (names are short). */
NOT_TRACED static size_t distance_within(const char *a, const char *b, size_t limit)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > MAX_WORD)
        na = MAX_WORD;
    if (nb > MAX_WORD)
        nb = MAX_WORD;
    size_t rows[3][MAX_WORD + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= nb; j++)
        prev[j] = j;
    size_t prev_min = 0;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = i;
        size_t row_min = i;
        int ca = tolower((unsigned char)a[i - 1]);
        for (size_t j = 1; j <= nb; j++) {
            int cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca != cb;
            size_t d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (prev[j - 1] + cost < d)
                d = prev[j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
            if (d < row_min)
                row_min = d;
        }
        if (row_min > limit && prev_min > limit)
            return limit + 1;
        prev_min = row_min;
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[nb];
}

size_t tsf_edit_distance(const char *a, const char *b)
{
    return distance_within(a, b, (size_t)-2);
}

const char *tsf_suggest(const char *word, const char *const *candidates, size_t n)
{
    size_t len = strlen(word);
    if (!len)
        return NULL;
    /* Close enough: one edit for short words, up to a third of the word for longer ones. */
    size_t limit = len / 3 > 1 ? len / 3 : 1;
    if (limit > 3)
        limit = 3;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        /* The distance is at least the difference in length: most candidates need no table. */
        size_t clen = strlen(candidates[i]);
        if ((len > clen ? len - clen : clen - len) > limit)
            continue;
        size_t d = distance_within(word, candidates[i], limit);
        size_t longer = len > clen ? len : clen;
        if (d < best_d && d <= limit && d < longer) {
            best = candidates[i];
            best_d = d;
        }
    }
    if (best || len < 3)
        return best;
    /* An abbreviation: "delim" for "delimiter". The shortest candidate it begins. */
    for (size_t i = 0; i < n; i++) {
        if (candidates[i] && strncasecmp(candidates[i], word, len) == 0 &&
            (!best || strlen(candidates[i]) < strlen(best)))
            best = candidates[i];
    }
    return best;
}
