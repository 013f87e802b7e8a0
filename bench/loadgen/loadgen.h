/*
 * The load generator's state, shared by loadgen.c (command line, phases,
 * report) and conn.c (one client connection: TCP, HTTP, WebSocket,
 * Engine.IO, Socket.IO). Internal to bench/loadgen.
 *
 * Everything lives in one struct loadgen passed around; there are no
 * globals. Every buffer is allocated once at start (one arena for all
 * connections): the send and receive paths never allocate.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"

enum lg_mode {
	LG_IDLE,
	LG_ECHO,
	LG_LATENCY,
	LG_BROADCAST,
	LG_HANDSHAKE,
	LG_SLOW,
};

enum lg_transport {
	LG_WEBSOCKET,       /* GET ...&transport=websocket, upgraded at once */
	LG_POLLING_UPGRADE, /* polling handshake and CONNECT, then websocket */
	LG_POLLING,         /* polling for good: a GET held, POSTs on a second socket */
};

/* How Socket.IO packets are written (the server must use the same). */
enum lg_parser {
	LG_PARSER_JSON,    /* socket.io-parser's text packets */
	LG_PARSER_MSGPACK, /* socket.io-msgpack-parser 3.x: one binary message each */
};

/* Why a connection failed or was lost; counted per reason. */
enum lg_err {
	LG_ERR_CONNECT,       /* socket(), bind() or connect() failed */
	LG_ERR_HTTP,          /* unexpected HTTP status or response */
	LG_ERR_PROTOCOL,      /* a frame or packet we could not make sense of */
	LG_ERR_CONNECT_ERROR, /* the server refused the namespace (44) */
	LG_ERR_TIMEOUT,       /* the handshake took longer than --connect-timeout */
	LG_ERR_CLOSED,        /* the server closed the connection */
	LG_ERR_IO,            /* read or write error */
	LG_ERR_TOO_BIG,       /* a message larger than the receive buffer */
	LG_ERR_FULL,          /* the send buffer was full (a send was skipped) */
	LG_ERR_COUNT,
};

enum lg_phase {
	PH_CONNECT, /* opening the clients */
	PH_CONTROL, /* broadcast, slow: opening the control client */
	PH_RUN,     /* measuring */
	PH_DONE,
};

enum conn_state {
	CS_IDLE,           /* not started */
	CS_TCP_CONNECTING, /* connect() in progress */
	CS_TLS_HANDSHAKE,  /* --tls: the TLS handshake in progress */
	CS_POLL_OPEN,      /* polling handshake GET sent */
	CS_POLL_CONNECT,   /* POST "40" sent, waiting for "ok" */
	CS_POLL_WAIT,      /* GET sent for the CONNECT reply */
	CS_WS_UPGRADING,   /* HTTP upgrade sent, waiting for 101 */
	CS_EIO_OPEN,       /* websocket up, waiting for the open packet */
	CS_PROBING,        /* "2probe" sent, waiting for "3probe" */
	CS_SIO_CONNECTING, /* "40" sent, waiting for "40{...}" */
	CS_JOINING,        /* "join" sent, waiting for its ack */
	CS_READY,          /* connected (and in the room for broadcast, slow) */
	CS_CLOSED,
};

/* What an outstanding acknowledgement (or, without acks, an outstanding
 * echo) was for. */
enum pending_kind {
	PK_FREE,
	PK_ECHO,
	PK_JOIN,
	PK_BCAST,
};

struct lg_pending {
	uint64_t t_ns; /* when it was sent (latency mode: when it was due) */
	uint32_t id;   /* ack id */
	uint8_t kind;  /* enum pending_kind */
};

struct lg_conn {
	int fd;         /* the socket in use, -1 when none */
	int pfd;        /* polling socket kept while upgrading; with --transport
	                   polling, the GET socket once connected (fd: POSTs); -1 */
	uint32_t index; /* in loadgen.conns; clients.. is the control */
	uint8_t state;  /* enum conn_state */
	bool control;   /* the broadcast control client */
	bool want_out;  /* EPOLLOUT is registered */
	bool dirty;     /* on loadgen.dirty, to be flushed */
	bool stalled;   /* slow mode: never read again */
	bool joined;    /* the namespace CONNECT reply came */
	uint8_t sid_len;
	char sid[48];     /* Engine.IO session id (polling-upgrade) */
	uint64_t t_start; /* monotonic ns the handshake began */
	uint8_t *in;      /* partial frame / response kept between reads */
	uint32_t in_len;
	uint8_t *out; /* bytes to send: out[out_off, out_len) */
	uint32_t out_off, out_len;
	uint8_t *pin; /* polling: partial POST response kept between reads */
	uint32_t pin_len;
	uint8_t *body; /* polling: packets waiting for the next POST */
	uint32_t body_len;
	bool post_busy;          /* polling: a POST is in flight (its "ok" not in) */
	bool post_connecting;    /* polling: the POST socket reopened, not up yet */
	struct lg_pending *ring; /* by ack id & ring_mask, or a FIFO (no acks) */
	uint32_t ring_mask;
	uint32_t head, tail;  /* FIFO positions, without acks */
	uint32_t outstanding; /* emits waiting for their reply */
	uint32_t next_id;     /* next ack id, always 7 digits */
	uint64_t received;    /* events delivered to this client */

	/* broadcast with --churn: the client drops its connection now and
	 * then and comes back with {pid, offset}; the emits are numbered */
	bool rejoining;   /* a churn reconnect in progress */
	bool bad;         /* a gap or a duplicate seen */
	uint8_t pid_len;  /* 0: the server gave no pid (recovery off) */
	uint8_t ssid_len; /* the Socket.IO id of the session */
	char pid[24];
	char ssid[24];
	int64_t first;   /* the first index of the events counted since the
	                    session began; -1 before one */
	int64_t next;    /* the index expected next; -1 before one */
	uint64_t offset; /* the last offset received, 0: none */
	uint64_t back_us; /* realtime of its recovered CONNECT reply, 0: none */
	struct ssl_st *ssl;   /* --tls: the TLS session on fd, or NULL */
};

struct lg_options {
	enum lg_mode mode;
	enum lg_transport transport;
	enum lg_parser parser;
	uint32_t host; /* IPv4, host byte order, in 127.0.0.0/8 */
	uint16_t port;
	uint16_t port2;   /* 0, or: the odd-numbered clients connect here (a
	                     second node of a cluster; the control client
	                     stays on port) */
	const char *path; /* "/socket.io/" */
	uint32_t clients;
	double connect_rate;    /* new connections per second, 0: all at once */
	uint32_t concurrency;   /* handshakes in flight at most, 0: no limit */
	double duration;        /* seconds */
	double timeout;         /* hard limit for the whole run, seconds */
	double connect_timeout; /* per handshake, seconds */
	uint32_t inflight;      /* echo: outstanding emits per client */
	uint32_t payload;       /* bytes of the string argument */
	double rate;            /* latency: emits/s in all; broadcast: packets/s */
	uint32_t burst;         /* broadcast: packets per tick */
	const char *room;
	bool no_ack;        /* echo, latency: emit without ack, reply is an event */
	uint32_t src_first; /* source addresses, host order; count 0: none */
	uint32_t src_count;
	double drain;         /* broadcast: seconds to wait for deliveries after the ack */
	uint32_t slow_rcvbuf; /* slow: SO_RCVBUF of the stalled client, 0: default */
	bool tls;             /* wss: TLS on every connection (certificate not checked) */
	double churn;         /* broadcast: fraction of the clients dropped and
	                         reconnected every second while the server emits */
	double churn_away;    /* seconds a dropped client stays away */
	bool verbose;
};

/* Polling: room for a POST's request line and headers, and for a kept
 * partial POST response. */
#define LG_POST_HEAD 512u
#define LG_PIN_CAP 1024u

/* Receive scratch space: one read, plus what a connection kept. */
#define LG_RX_READ (256u * 1024u)

struct loadgen {
	struct lg_options opt;
	struct ssl_ctx_st *tls; /* --tls: the client context */
	int epfd;
	int sigfd;
	enum lg_phase phase;

	struct lg_conn *conns; /* opt.clients + 1 (the control client) */
	uint32_t nconns;       /* opt.clients, + 1 for broadcast and slow */
	void *arena;           /* every connection's buffers */
	uint32_t in_cap, out_cap, ring_size;
	uint8_t *rx;     /* LG_RX_READ + in_cap */
	uint32_t *dirty; /* connections with output to flush */
	uint32_t ndirty;
	uint32_t *ready; /* latency: connections to spread emits over */
	uint32_t nready;

	/* pre-encoded frames, masked with `mask` */
	uint8_t mask[4];
	uint8_t *echo_frame; /* "42NNNNNNN[\"echo\",\"xx..\"]" (or without id) */
	uint32_t echo_len;
	uint32_t echo_id_at;    /* offset of the id in echo_frame: 7 digits, or
	                           msgpack's 4 bytes */
	uint32_t echo_id_phase; /* the id's offset in the payload (for the mask) */
	uint8_t pong_frame[8];  /* "3" */
	uint32_t pong_len;
	char host_hdr[32]; /* "127.0.0.1:3000" */
	uint64_t rng;      /* xorshift state for websocket keys */

	/* progress */
	uint32_t started;   /* clients whose handshake began */
	uint32_t pending;   /* handshakes in flight */
	uint32_t connected; /* clients that completed the handshake */
	uint32_t failed;    /* clients whose handshake failed */
	uint32_t dropped;   /* ready clients that lost their connection */
	uint64_t t_begin;   /* monotonic ns at start */
	uint64_t t_first_start, t_last_ready;
	uint64_t t_run_start, t_run_end;
	uint64_t run_deadline; /* end of the measuring window */
	uint64_t hard_deadline;
	uint64_t next_timeout_scan;
	uint64_t next_progress;
	bool timed_out;
	bool interrupted;
	bool control_failed;

	/* latency mode schedule */
	uint64_t next_send; /* monotonic ns of the next emit due */
	uint64_t interval_ns;
	uint32_t rr; /* next index in ready[] */

	/* broadcast */
	bool bcast_acked;
	bool bcast_refused;
	uint64_t bcast_count; /* emits the server reported */
	uint64_t t_bcast_ack;
	uint64_t t_first_delivery, t_last_delivery;

	/* broadcast with --churn */
	uint64_t next_churn;  /* monotonic ns of the next round of drops */
	uint32_t *away;       /* dropped clients waiting to come back, in drop order */
	uint32_t away_head, away_count;
	uint64_t churned;     /* connections dropped on purpose */
	uint64_t reconnected; /* of those, clients back (recovered or fresh) */
	uint64_t recovered;   /* back with the same id: recovered */
	uint64_t fresh;       /* back with a new session (the count restarts) */
	uint64_t gaps;        /* an event skipped within a session */
	uint64_t dups;        /* an event received twice within a session */
	uint64_t replayed;    /* received on a reconnect before its CONNECT reply:
	                         the missed events a recovery replays */

	/* counters */
	uint64_t sent;       /* emits sent while measuring */
	uint64_t received;   /* replies and deliveries while measuring */
	uint64_t received2;  /* of which to clients of --port2 */
	uint64_t acked;      /* acks received while measuring */
	uint64_t late;       /* latency: emits sent more than 1 ms after due */
	uint64_t lost;       /* latency: emits given up (no slot, no room) */
	uint64_t unexpected; /* replies matching nothing we sent */
	uint64_t errors[LG_ERR_COUNT];
	char err_detail[LG_ERR_COUNT][96]; /* the first instance of each */

	struct hist latency; /* microseconds */
	struct hist connect; /* microseconds, per client */
};

/* Monotonic and wall clocks. */
uint64_t lg_now_ns(void);
uint64_t lg_realtime_us(void);

/* Called by conn.c when a client completed its handshake (for broadcast and
 * slow: joined the room; for the control client: joined the namespace). */
void lg_conn_ready(struct loadgen *lg, struct lg_conn *c, uint64_t now);

/* Starts the handshake of c (socket, optional bind, connect). Returns 0, or
 * -1 when it failed at once (then counted as failed). */
int conn_start(struct loadgen *lg, struct lg_conn *c, uint64_t now);

/* epoll data of a polling client's GET socket: its index | LG_GET_TAG. */
#define LG_GET_TAG (1ull << 32)

/* Handles epoll events on c's socket (get_side: on its polling GET socket). */
void conn_on_event(struct loadgen *lg, struct lg_conn *c, uint32_t events, bool get_side);

/* Polling: puts the packets c has waiting in a POST, unless one is in
 * flight (then they go when its "ok" comes). */
void conn_post(struct loadgen *lg, struct lg_conn *c);

/* Writes what c has queued; registers EPOLLOUT for the rest. */
void conn_flush(struct loadgen *lg, struct lg_conn *c);

/* Queues one "echo" emit on c (with an ack unless opt.no_ack), stamped
 * with t_ns (the send time, or the time it was due). Returns false when c
 * has no room for it (nothing queued). Puts c on the flush list. */
bool conn_send_echo(struct loadgen *lg, struct lg_conn *c, uint64_t t_ns);

/* The server port client c connects to (--port2: the odd ones there). */
static inline uint16_t lg_conn_port(const struct loadgen *lg, const struct lg_conn *c)
{
	return lg->opt.port2 && !c->control && c->index % 2 == 1 ? lg->opt.port2 : lg->opt.port;
}

/* Queues the "bcast" emit with an ack on the control client. */
bool conn_send_bcast(struct loadgen *lg, struct lg_conn *c, uint64_t now);

/* Churn: closes the connection of ready client c; conn_start() brings it
 * back (with its pid and offset when the server gave a pid). */
void conn_churn(struct loadgen *lg, struct lg_conn *c);

/* Fails c if its handshake has outlived --connect-timeout. */
void conn_check_timeout(struct loadgen *lg, struct lg_conn *c, uint64_t now);

/* Slow mode: stops reading c for good (removes it from epoll). */
void conn_stall(struct loadgen *lg, struct lg_conn *c);

/* Closes c's sockets without counting anything (end of run). */
void conn_close(struct loadgen *lg, struct lg_conn *c);

/* Counts an error of `kind` and keeps the first detail message. */
void lg_error(struct loadgen *lg, enum lg_err kind, const char *detail);

#endif
