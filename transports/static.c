#include "transports/static.h"

int static_serve(struct sio_server *srv, const struct sio_request *req, struct buf *out,
		 bool keep_alive)
{
	(void)srv;
	(void)req;
	(void)out;
	(void)keep_alive;
	return 0;
}
