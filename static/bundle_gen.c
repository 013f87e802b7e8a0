/*
 * bundle_gen: a build-time tool (meson runs it, see static/meson.build)
 * that turns files into a C source defining the table of static/bundle.h:
 * for each file its bytes, a raw deflate stream and a brotli stream of
 * them (best compression, made once here rather than per request), the
 * checksums the gzip and zlib wrappers need, and a strong entity tag.
 *
 *   usage: bundle_gen OUT.c FILE...
 *
 * Each FILE is served under its base name. Exits 0, or 1 with a message
 * on stderr and no OUT.c left behind.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/encode.h>
#include <zlib.h>

#define MAX_INPUT (64u << 20) /* a client bundle is well under this */

struct blob {
	uint8_t *data;
	size_t len;
};

/* ---- SHA-1 (FIPS 180-4), for the entity tag ------------------------------ */

static uint32_t rol32(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		uint32_t t = rol32(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol32(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

/* The SHA-1 digest of p[0..n) into out. */
static void sha1(const uint8_t *p, size_t n, uint8_t out[20])
{
	uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
	size_t i = 0;
	for (; n - i >= 64; i += 64)
		sha1_block(h, p + i);
	uint8_t last[128] = {0};
	size_t rest = n - i;
	memcpy(last, p + i, rest);
	last[rest] = 0x80;
	size_t total = rest + 1 + 8 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)n * 8;
	for (size_t k = 0; k < 8; k++)
		last[total - 1 - k] = (uint8_t)(bits >> (8 * k));
	sha1_block(h, last);
	if (total == 128)
		sha1_block(h, last + 64);
	for (size_t k = 0; k < 20; k++)
		out[k] = (uint8_t)(h[k / 4] >> (24 - 8 * (k % 4)));
}

/*
 * The entity tag of p[0..n), in the form of the `etag` npm package that
 * Express uses for bodies: "<length in hex>-<first 27 characters of the
 * base64 SHA-1>", quotes included. out must hold 64 bytes.
 */
static void etag_of(const uint8_t *p, size_t n, char out[64])
{
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t d[21] = {0};
	sha1(p, n, d);
	char enc[29];
	size_t o = 0;
	for (size_t i = 0; i < 21; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		enc[o++] = b64[(v >> 18) & 63];
		enc[o++] = b64[(v >> 12) & 63];
		enc[o++] = b64[(v >> 6) & 63];
		enc[o++] = b64[v & 63];
	}
	enc[27] = '\0'; /* 20 bytes are 27 characters and a '=' */
	snprintf(out, 64, "\"%zx-%s\"", n, enc);
}

/* ---- compression ----------------------------------------------------------- */

/* A raw deflate stream (no zlib or gzip wrapper) of in, best compression.
 * Returns false on failure. */
static bool deflate_raw(const struct blob *in, struct blob *out)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	uLong bound = deflateBound(&zs, (uLong)in->len);
	out->data = malloc(bound ? bound : 1);
	bool ok = out->data != NULL;
	if (ok) {
		zs.next_in = in->data;
		zs.avail_in = (uInt)in->len;
		zs.next_out = out->data;
		zs.avail_out = (uInt)bound;
		ok = deflate(&zs, Z_FINISH) == Z_STREAM_END;
		out->len = bound - zs.avail_out;
	}
	deflateEnd(&zs);
	return ok;
}

/* A brotli stream of in, best compression. Returns false on failure. */
static bool brotli(const struct blob *in, struct blob *out)
{
	size_t cap = BrotliEncoderMaxCompressedSize(in->len);
	if (cap == 0)
		return false;
	out->data = malloc(cap);
	if (!out->data)
		return false;
	out->len = cap;
	return BrotliEncoderCompress(BROTLI_MAX_QUALITY, BROTLI_MAX_WINDOW_BITS,
	                             BROTLI_MODE_GENERIC, in->len, in->data, &out->len,
	                             out->data) == BROTLI_TRUE;
}

/* ---- input and output -------------------------------------------------------- */

/* Reads the whole file at path into b. Returns false with a message. */
static bool read_file(const char *path, struct blob *b)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "bundle_gen: %s: %s\n", path, strerror(errno));
		return false;
	}
	size_t cap = 1 << 16;
	b->data = malloc(cap);
	b->len = 0;
	bool ok = b->data != NULL;
	while (ok) {
		if (b->len == cap) {
			uint8_t *p = cap < MAX_INPUT ? realloc(b->data, cap * 2) : NULL;
			if (!p) {
				fprintf(stderr, "bundle_gen: %s: too large or out of memory\n",
				        path);
				ok = false;
				break;
			}
			b->data = p;
			cap *= 2;
		}
		size_t n = fread(b->data + b->len, 1, cap - b->len, f);
		b->len += n;
		if (n == 0) {
			if (ferror(f)) {
				fprintf(stderr, "bundle_gen: %s: read error\n", path);
				ok = false;
			}
			break;
		}
	}
	fclose(f);
	return ok;
}

/* The part of path after its last '/'. */
static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Names go into C strings and URLs as they are: keep them plain. */
static bool name_ok(const char *name)
{
	if (!*name)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return false;
	return true;
}

/* Writes `static const uint8_t <sym>[] = {...};`. Returns false on a
 * write error. */
static bool write_array(FILE *out, const char *sym, const struct blob *b)
{
	if (b->len == 0)
		return fprintf(out, "static const uint8_t %s[1] = {0};\n", sym) > 0;
	if (fprintf(out, "static const uint8_t %s[%zu] = {\n", sym, b->len) < 0)
		return false;
	char line[32 * 4 + 2];
	for (size_t i = 0; i < b->len;) {
		size_t o = 0;
		for (size_t k = 0; k < 32 && i < b->len; k++, i++) {
			unsigned v = b->data[i];
			if (v >= 100)
				line[o++] = (char)('0' + v / 100);
			if (v >= 10)
				line[o++] = (char)('0' + v / 10 % 10);
			line[o++] = (char)('0' + v % 10);
			line[o++] = ',';
		}
		line[o++] = '\n';
		if (fwrite(line, 1, o, out) != o)
			return false;
	}
	return fputs("};\n", out) >= 0;
}

struct entry {
	const char *name;
	char etag[64];
	struct blob data, deflate, br;
	uint32_t crc32, adler32;
};

/* Reads and compresses one input. Returns false with a message. */
static bool entry_load(struct entry *e, const char *path)
{
	e->name = base_name(path);
	if (!name_ok(e->name)) {
		fprintf(stderr, "bundle_gen: %s: file name not served as is\n", path);
		return false;
	}
	if (!read_file(path, &e->data))
		return false;
	if (e->data.len > UINT_MAX) {
		fprintf(stderr, "bundle_gen: %s: too large\n", path);
		return false;
	}
	etag_of(e->data.data, e->data.len, e->etag);
	e->crc32 = (uint32_t)crc32(crc32(0, Z_NULL, 0), e->data.data, (uInt)e->data.len);
	e->adler32 = (uint32_t)adler32(adler32(0, Z_NULL, 0), e->data.data, (uInt)e->data.len);
	if (!deflate_raw(&e->data, &e->deflate) || !brotli(&e->data, &e->br)) {
		fprintf(stderr, "bundle_gen: %s: compression failed\n", path);
		return false;
	}
	/* A compressed form no smaller than the file (with the 18 bytes of
	 * the gzip wrapper) is never served. */
	if (e->deflate.len + 18 >= e->data.len)
		e->deflate.len = 0;
	if (e->br.len >= e->data.len)
		e->br.len = 0;
	return true;
}

static bool write_output(FILE *out, const struct entry *es, size_t n)
{
	bool ok = fputs("/* Generated by static/bundle_gen at build time. Do not edit. */\n"
	                "#include \"static/bundle.h\"\n\n",
	                out) >= 0;
	char sym[64];
	for (size_t i = 0; ok && i < n; i++) {
		snprintf(sym, sizeof(sym), "file%zu_data", i);
		ok = write_array(out, sym, &es[i].data);
		if (ok && es[i].deflate.len) {
			snprintf(sym, sizeof(sym), "file%zu_deflate", i);
			ok = write_array(out, sym, &es[i].deflate);
		}
		if (ok && es[i].br.len) {
			snprintf(sym, sizeof(sym), "file%zu_br", i);
			ok = write_array(out, sym, &es[i].br);
		}
	}
	ok = ok && fputs("\nconst struct bundle_file bundle_files[] = {\n", out) >= 0;
	for (size_t i = 0; ok && i < n; i++) {
		const struct entry *e = &es[i];
		char deflate_sym[64] = "NULL", br_sym[64] = "NULL";
		if (e->deflate.len)
			snprintf(deflate_sym, sizeof(deflate_sym), "file%zu_deflate", i);
		if (e->br.len)
			snprintf(br_sym, sizeof(br_sym), "file%zu_br", i);
		/* the tag holds quotes: escape them for the C string */
		ok = fprintf(out,
		             "\t{\n\t\t.name = \"%s\",\n\t\t.etag = \"\\\"%.*s\\\"\",\n"
		             "\t\t.data = file%zu_data,\n\t\t.len = %zu,\n"
		             "\t\t.deflate = %s,\n\t\t.deflate_len = %zu,\n"
		             "\t\t.crc32 = 0x%08lxu,\n\t\t.adler32 = 0x%08lxu,\n"
		             "\t\t.br = %s,\n\t\t.br_len = %zu,\n\t},\n",
		             e->name, (int)strlen(e->etag) - 2, e->etag + 1, i, e->data.len,
		             deflate_sym, e->deflate.len, (unsigned long)e->crc32,
		             (unsigned long)e->adler32, br_sym, e->br.len) > 0;
	}
	ok = ok && fprintf(out, "};\n\nconst size_t bundle_nfiles = %zu;\n", n) > 0;
	return ok;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: bundle_gen OUT.c FILE...\n", stderr);
		return 1;
	}
	size_t n = (size_t)argc - 2;
	struct entry *es = calloc(n, sizeof(*es));
	bool ok = es != NULL;
	for (size_t i = 0; ok && i < n; i++) {
		ok = entry_load(&es[i], argv[i + 2]);
		for (size_t k = 0; ok && k < i; k++)
			if (strcmp(es[k].name, es[i].name) == 0) {
				fprintf(stderr, "bundle_gen: %s given twice\n", es[i].name);
				ok = false;
			}
	}
	if (ok) {
		FILE *out = fopen(argv[1], "w");
		if (!out) {
			fprintf(stderr, "bundle_gen: %s: %s\n", argv[1], strerror(errno));
			ok = false;
		} else {
			ok = write_output(out, es, n);
			ok = (fclose(out) == 0) && ok;
			if (!ok) {
				fprintf(stderr, "bundle_gen: %s: write error\n", argv[1]);
				remove(argv[1]);
			}
		}
	}
	for (size_t i = 0; es && i < n; i++) {
		free(es[i].data.data);
		free(es[i].deflate.data);
		free(es[i].br.data);
	}
	free(es);
	return ok ? 0 : 1;
}
