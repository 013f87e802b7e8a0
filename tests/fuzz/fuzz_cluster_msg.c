/*
 * One ClusterAdapter message of the sharded Redis adapter
 * (cluster_msg_decode), JSON or msgpack, from a heap block of exactly its
 * length. An accepted message must hold members of the kinds its type
 * promises (opts' rooms and except NULL-terminated string arrays of their
 * counts, a packet where the type has one, placeholders naming its
 * buffers), and its data must encode again (JSON, or msgpack when it
 * carries binary) and decode to the same type and an equal tree. A
 * refused one gives a known error and leaves the message all zero.
 */
#include "protocol/cluster_msg.h"

#include "fuzz.h"

static bool msg_is_zero(const struct cluster_msg *m)
{
	static const struct cluster_msg zero;

	return memcmp(m, &zero, sizeof(zero)) == 0;
}

static void check_opts(const struct cluster_opts *o)
{
	FUZZ_CHECK(o->rooms && o->except);
	for (size_t i = 0; i < o->nrooms; i++)
		FUZZ_CHECK(o->rooms[i] != NULL);
	FUZZ_CHECK(o->rooms[o->nrooms] == NULL);
	for (size_t i = 0; i < o->nexcept; i++)
		FUZZ_CHECK(o->except[i] != NULL);
	FUZZ_CHECK(o->except[o->nexcept] == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in = fuzz_copy(data, size);
	struct cluster_msg m;
	int r = cluster_msg_decode(in, size, &m);
	if (r < 0) {
		FUZZ_CHECK(r == CLUSTER_MSG_EFORMAT || r == CLUSTER_MSG_ETYPE ||
		           r == CLUSTER_MSG_EFIELD || r == CLUSTER_MSG_ENOMEM);
		FUZZ_CHECK(msg_is_zero(&m));
		free(in);
		return 0;
	}
	FUZZ_CHECK(m.root && m.type >= CLUSTER_INITIAL_HEARTBEAT &&
	           m.type <= CLUSTER_ADAPTER_CLOSE);
	FUZZ_CHECK((m.nbins > 0) == (m.bins != NULL));
	bool has_data = m.type != CLUSTER_INITIAL_HEARTBEAT && m.type != CLUSTER_HEARTBEAT &&
	                m.type != CLUSTER_ADAPTER_CLOSE;
	FUZZ_CHECK(has_data == (m.data != NULL));
	if (m.type >= CLUSTER_BROADCAST && m.type <= CLUSTER_FETCH_SOCKETS)
		check_opts(&m.opts);
	switch (m.type) {
	case CLUSTER_BROADCAST:
		FUZZ_CHECK(json_is_array(json_object_get(m.packet, "data")));
		break;
	case CLUSTER_SOCKETS_JOIN:
	case CLUSTER_SOCKETS_LEAVE:
		for (size_t i = 0; i < json_array_size(m.rooms); i++)
			FUZZ_CHECK(json_is_string(json_array_get(m.rooms, i)));
		break;
	case CLUSTER_SERVER_SIDE_EMIT:
		FUZZ_CHECK(json_array_size(m.packet) > 0);
		break;
	case CLUSTER_FETCH_SOCKETS_RESPONSE:
		FUZZ_CHECK(json_is_array(m.sockets) && m.request_id);
		break;
	case CLUSTER_BROADCAST_CLIENT_COUNT:
		FUZZ_CHECK(m.client_count >= 0 && m.request_id);
		break;
	default:
		break;
	}
	/* the data sent on (as an adapter answers or forwards it) */
	if (m.uid && m.nsp && strlen(m.nsp) == m.nsp_len && m.nbins == 0) {
		struct buf out = {0};
		r = cluster_msg_encode(m.type, m.data, m.uid, m.nsp, NULL, 0, &out);
		FUZZ_CHECK(r == 0 || r == CLUSTER_MSG_ENOMEM);
		if (r == 0) {
			uint8_t *again = fuzz_copy(out.data, out.len);
			struct cluster_msg m2;
			r = cluster_msg_decode(again, out.len, &m2);
			FUZZ_CHECK(r == 0 || r == CLUSTER_MSG_ENOMEM);
			if (r == 0) {
				FUZZ_CHECK(m2.type == m.type);
				FUZZ_CHECK(m.data ? json_equal(m2.data, m.data) : !m2.data);
			}
			cluster_msg_finish(&m2);
			free(again);
		}
		buf_free(&out);
	}
	cluster_msg_finish(&m);
	FUZZ_CHECK(msg_is_zero(&m));
	free(in);
	return 0;
}
