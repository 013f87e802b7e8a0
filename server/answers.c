/*
 * Answers with binaries collected into one responses array (the
 * sio_responses_fn's responses and bins): each answer's placeholders
 * renumbered after those before it, its binaries copied.
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/sio_packet.h"
#include "server/adapter.h"

int answer_bins_copy(struct answer_bins *b, const struct sio_binary *bins, size_t nbins)
{
	if (b->n + nbins > b->cap) {
		size_t cap = b->cap ? b->cap : 4;
		while (cap < b->n + nbins)
			cap *= 2;
		struct sio_binary *v = realloc(b->v, cap * sizeof(*v));
		if (!v)
			return SIO_ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	for (size_t i = 0; i < nbins; i++) {
		void *d = malloc(bins[i].len ? bins[i].len : 1);
		if (!d) {
			while (i--)
				free((void *)b->v[b->n + i].data);
			return SIO_ENOMEM;
		}
		if (bins[i].len)
			memcpy(d, bins[i].data, bins[i].len);
		b->v[b->n + i] = (struct sio_binary){.data = d, .len = bins[i].len};
	}
	b->n += nbins;
	return 0;
}

void answer_bins_clear(struct answer_bins *b)
{
	for (size_t i = 0; i < b->n; i++)
		free((void *)b->v[i].data);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

/* A copy of v with each placeholder k < nbins made k + shift. NULL when
 * out of memory. */
static json_t *placeholders_shifted(const json_t *v, size_t nbins, size_t shift)
{
	int64_t k = sio_pkt_placeholder_num(v, (uint32_t)nbins);
	if (k >= 0)
		return sio_pkt_placeholder_new((uint32_t)((size_t)k + shift));
	if (json_is_array(v)) {
		json_t *out = json_array();
		for (size_t i = 0; out && i < json_array_size(v); i++) {
			if (json_array_append_new(out, placeholders_shifted(json_array_get(v, i),
			                                                    nbins, shift)) < 0) {
				json_decref(out);
				out = NULL;
			}
		}
		return out;
	}
	if (json_is_object(v)) {
		json_t *out = json_object();
		const char *key;
		size_t len;
		json_t *m;
		json_object_keylen_foreach((json_t *)v, key, len, m)
		{
			if (!out)
				break;
			if (json_object_setn_new(out, key, len,
			                         placeholders_shifted(m, nbins, shift)) < 0) {
				json_decref(out);
				out = NULL;
			}
		}
		return out;
	}
	return json_incref((json_t *)v);
}

int answer_append(json_t *arr, struct answer_bins *b, const json_t *arg,
                  const struct sio_binary *bins, size_t nbins)
{
	if (!arg)
		arg = json_null();
	if (!bins)
		nbins = 0;
	size_t had = b->n;
	json_t *v = nbins ? placeholders_shifted(arg, nbins, had) : json_incref((json_t *)arg);
	if (!v || answer_bins_copy(b, bins, nbins) < 0) {
		json_decref(v);
		return SIO_ENOMEM;
	}
	if (json_array_append_new(arr, v) < 0) {
		for (size_t i = had; i < b->n; i++)
			free((void *)b->v[i].data);
		b->n = had;
		return SIO_ENOMEM;
	}
	return 0;
}
