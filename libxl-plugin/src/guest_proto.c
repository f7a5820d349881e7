/*
 * guest_proto.c - the protocol versions the toolstack uses, the suspend announcement it
 * writes and the guest's last-suspend report it reads (guest_proto.h). No Xen here.
 */
#include <stdio.h>
#include <string.h>

#include "guest_proto.h"
#include "xlcp_xs_proto.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A checkpoint id, as the protocol's $id grammar: [0-9]{8}T[0-9]{6}\.[0-9]{3}Z-[0-9a-f]{6} */
static int valid_id(const char *s, size_t len)
{
    static const char shape[] = "ddddddddTdddddd.dddZ-xxxxxx";

    if (len != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (shape[i] == 'd'   ? !is_digit(c)
            : shape[i] == 'x' ? !is_digit(c) && !(c >= 'a' && c <= 'f')
                              : c != shape[i])
            return 0;
    }
    return 1;
}

int xlcp_guest_protocol(const char *value, unsigned int *proto)
{
    unsigned long v = 0;
    size_t i;

    if (!value || !value[0] || value[0] == '0' || strlen(value) > XLCP_XS_MAX_PROTOCOL)
        return 0;
    for (i = 0; value[i]; i++) {
        if (!is_digit(value[i]))
            return 0;
        v = v * 10 + (unsigned long)(value[i] - '0');
    }
    if (v < XLCP_XS_PROTOCOL_OLDEST || v > XLCP_XS_PROTOCOL)
        return 0;
    *proto = (unsigned int)v;
    return 1;
}

int xlcp_announce_value(char *buf, size_t len, const char *id, unsigned int ms)
{
    int n;

    if (!id || !valid_id(id, strlen(id)) || ms == 0 || ms > 99999)
        return -1;
    n = snprintf(buf, len, "%s %u", id, ms);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int xlcp_libxl_notifies_evtchn(const char *msg)
{
    return msg && strstr(msg, "issuing ") && strstr(msg, " suspend request via event channel");
}

enum xlcp_last_suspend xlcp_last_suspend_parse(const char *value, size_t len, const char *id,
                                               unsigned long *n)
{
    const char *p = value, *end = value + len, *sp;
    int light;
    size_t idlen;
    unsigned long count = 0;

    if (!value || len == 0 || len > XLCP_XS_MAX_LAST_SUSPEND || memchr(value, '\0', len))
        return XLCP_LAST_NONE;
    if (len > 6 && !memcmp(p, "light ", 6)) {
        light = 1;
        p += 6;
    } else if (len > 6 && !memcmp(p, "stock ", 6)) {
        light = 0;
        p += 6;
    } else {
        return XLCP_LAST_NONE;
    }
    sp = memchr(p, ' ', (size_t)(end - p));
    if (!sp)
        return XLCP_LAST_NONE;
    idlen = (size_t)(sp - p);
    if (!(idlen == 1 && p[0] == '-') && !valid_id(p, idlen))
        return XLCP_LAST_NONE;
    if (light && idlen == 1)
        return XLCP_LAST_NONE; /* the light path is only ever taken for an id */
    if (sp + 1 == end || end - (sp + 1) > XLCP_XS_MAX_COUNT)
        return XLCP_LAST_NONE;
    for (const char *q = sp + 1; q < end; q++) {
        if (!is_digit(*q))
            return XLCP_LAST_NONE;
        count = count * 10 + (unsigned long)(*q - '0');
    }
    if (count > 0xffffffffUL)
        return XLCP_LAST_NONE;
    if (n)
        *n = count;
    if (!light)
        return XLCP_LAST_STOCK;
    return id && strlen(id) == idlen && !memcmp(p, id, idlen) ? XLCP_LAST_LIGHT : XLCP_LAST_OTHER;
}
