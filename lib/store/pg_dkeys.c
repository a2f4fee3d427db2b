/* placeholder, filled below */
#include "pg_int.h"
const struct ev_dkeys_ops ev_dkeys_pg;
