/*
 * Checks on decoded Socket.IO packets shared by the sio_* targets.
 */
#ifndef SIOC_TESTS_FUZZ_SIO_CHECK_H
#define SIOC_TESTS_FUZZ_SIO_CHECK_H

#include "protocol/sio_packet.h"

#include "fuzz.h"

/* Walks v as the contract of sio_pkt_placeholder_num() describes it: with
 * attachments > 0 every object whose "_placeholder" is true and that is not
 * inside another placeholder must be a valid one; with 0, nothing is a
 * placeholder. Returns the depth of v's deepest value (v at 1). */
static inline unsigned sio_check_tree(const json_t *v, uint32_t attachments)
{
	unsigned deepest = 0, d;

	if (json_is_object(v)) {
		json_t *obj = (json_t *)v;

		if (attachments > 0 && json_is_true(json_object_get(v, "_placeholder"))) {
			int64_t k = sio_pkt_placeholder_num(v, attachments);

			FUZZ_CHECK(k >= 0 && k < (int64_t)attachments);
			return 1;
		}
		FUZZ_CHECK(sio_pkt_placeholder_num(v, attachments) < 0);
		for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it))
			if ((d = sio_check_tree(json_object_iter_value(it), attachments)) > deepest)
				deepest = d;
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if ((d = sio_check_tree(json_array_get(v, i), attachments)) > deepest)
				deepest = d;
	}
	return deepest + 1;
}

/* The invariants of a packet that sio_pkt_decode() accepted with a
 * max_attachments of at most 256. */
static inline void sio_check_packet(const struct sio_pkt *p)
{
	bool binary = p->type == SIO_PACKET_BINARY_EVENT || p->type == SIO_PACKET_BINARY_ACK;

	FUZZ_CHECK((unsigned)p->type <= SIO_PACKET_BINARY_ACK);
	FUZZ_CHECK(p->nsp && p->nsp_len >= 1 && p->nsp[0] == '/' && p->nsp[p->nsp_len] == '\0');
	FUZZ_CHECK(!memchr(p->nsp, ',', p->nsp_len));
	FUZZ_CHECK(p->id >= -1 && p->id <= SIO_PKT_ACK_ID_MAX);
	FUZZ_CHECK(binary == (p->attachments > 0));
	FUZZ_CHECK(p->attachments <= 256);
	if (!p->data)
		return;
	switch (p->type) {
	case SIO_PACKET_CONNECT:
		FUZZ_CHECK(json_is_object(p->data));
		break;
	case SIO_PACKET_DISCONNECT:
		FUZZ_CHECK(p->data == NULL); /* never has a payload */
		break;
	case SIO_PACKET_EVENT:
	case SIO_PACKET_BINARY_EVENT:
		FUZZ_CHECK(json_is_array(p->data) && json_array_size(p->data) >= 1);
		FUZZ_CHECK(json_is_string(json_array_get(p->data, 0)) ||
		           json_is_number(json_array_get(p->data, 0)));
		break;
	case SIO_PACKET_ACK:
	case SIO_PACKET_BINARY_ACK:
		FUZZ_CHECK(json_is_array(p->data));
		break;
	case SIO_PACKET_CONNECT_ERROR:
		FUZZ_CHECK(json_is_object(p->data) || json_is_string(p->data));
		break;
	}
	FUZZ_CHECK(sio_check_tree(p->data, p->attachments) <= SIO_PKT_MAX_DEPTH);
}

#endif
