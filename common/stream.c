/*
 * stream.c - the Migration v2 stream writer and reader; see stream.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <endian.h>

#include "err.h"
#include "io.h"
#include "stream.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "xenpipe writes and reads little-endian streams on little-endian hosts only"
#endif

static const char *const xc_names[] = {
	[REC_TYPE_END] = "END",
	[REC_TYPE_PAGE_DATA] = "PAGE_DATA",
	[REC_TYPE_X86_PV_INFO] = "X86_PV_INFO",
	[REC_TYPE_X86_PV_P2M_FRAMES] = "X86_PV_P2M_FRAMES",
	[REC_TYPE_X86_PV_VCPU_BASIC] = "X86_PV_VCPU_BASIC",
	[REC_TYPE_X86_PV_VCPU_EXTENDED] = "X86_PV_VCPU_EXTENDED",
	[REC_TYPE_X86_PV_VCPU_XSAVE] = "X86_PV_VCPU_XSAVE",
	[REC_TYPE_SHARED_INFO] = "SHARED_INFO",
	[REC_TYPE_X86_TSC_INFO] = "X86_TSC_INFO",
	[REC_TYPE_HVM_CONTEXT] = "HVM_CONTEXT",
	[REC_TYPE_HVM_PARAMS] = "HVM_PARAMS",
	[REC_TYPE_TOOLSTACK] = "TOOLSTACK",
	[REC_TYPE_X86_PV_VCPU_MSRS] = "X86_PV_VCPU_MSRS",
	[REC_TYPE_VERIFY] = "VERIFY",
	[REC_TYPE_CHECKPOINT] = "CHECKPOINT",
	[REC_TYPE_CHECKPOINT_DIRTY_PFN_LIST] = "CHECKPOINT_DIRTY_PFN_LIST",
	[REC_TYPE_STATIC_DATA_END] = "STATIC_DATA_END",
	[REC_TYPE_X86_CPUID_POLICY] = "X86_CPUID_POLICY",
	[REC_TYPE_X86_MSR_POLICY] = "X86_MSR_POLICY",
};

static const char *const xl_names[] = {
	[LIBXL_REC_END] = "END",
	[LIBXL_REC_LIBXC_CONTEXT] = "LIBXC_CONTEXT",
	[LIBXL_REC_EMULATOR_XENSTORE] = "EMULATOR_XENSTORE_DATA",
	[LIBXL_REC_EMULATOR_CONTEXT] = "EMULATOR_CONTEXT",
	[LIBXL_REC_CHECKPOINT_END] = "CHECKPOINT_END",
	[LIBXL_REC_CHECKPOINT_STATE] = "CHECKPOINT_STATE",
};

static const uint8_t zero_pad[REC_ALIGN];

const char *
fmt_name(enum stream_fmt fmt)
{
	switch (fmt) {
	case FMT_LIBXC:
		return "libxc";
	case FMT_LIBXL:
		return "libxl";
	case FMT_XL:
		return "xl";
	}
	return "?";
}

int
fmt_parse(const char *s, enum stream_fmt *fmt)
{
	if (strcmp(s, "libxc") == 0)
		*fmt = FMT_LIBXC;
	else if (strcmp(s, "libxl") == 0)
		*fmt = FMT_LIBXL;
	else if (strcmp(s, "xl") == 0)
		*fmt = FMT_XL;
	else {
		xp_seterr(XE_USAGE, "unknown format '%s' (libxc, libxl or xl)", s);
		return -1;
	}
	return 0;
}

static const char *
rec_name(const char *const *names, uint32_t max, uint32_t type)
{
	static char buf[32];

	if (type <= max)
		return names[type];
	snprintf(buf, sizeof(buf), "type 0x%08" PRIx32, type);
	return buf;
}

const char *
xc_rec_name(uint32_t type)
{
	return rec_name(xc_names, REC_TYPE_XC_MAX, type);
}

const char *
xl_rec_name(uint32_t type)
{
	return rec_name(xl_names, LIBXL_REC_MAX, type);
}

/* ---------------- writer ---------------- */

struct sw {
	int fd;
	enum stream_fmt fmt;
	uint64_t nr_pages;
	uint64_t *sent;		/* bit per pfn: sent before, never elide */
	int headers_done;
	int ended;
	struct sw_stats st;
	uint64_t pfn_words[PAGE_BATCH_MAX];
	struct iovec iov[PAGE_BATCH_MAX + 4];
};

/* Write every byte of iov[0..cnt), whatever writev takes at a time. */
static int
writev_all(int fd, struct iovec *iov, int cnt)
{
	ssize_t n;

	while (cnt > 0) {
		n = writev(fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt);
		if (n < 0) {
			if (errno == EINTR && !xp_interrupted)
				continue;
			xp_seterr(XE_SYS, "write stream");
			return -1;
		}
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= n;
		}
	}
	return 0;
}


struct sw *
sw_new(int fd, enum stream_fmt fmt, uint64_t nr_pages)
{
	struct sw *sw;

	if (nr_pages > DOM_PAGES_MAX) {
		xp_seterr(XE_USAGE, "domain of %" PRIu64 " pages is too large",
		    nr_pages);
		return NULL;
	}
	sw = calloc(1, sizeof(*sw));
	if (sw == NULL)
		goto nomem;
	sw->sent = calloc((nr_pages + 63) / 64 + 1, sizeof(uint64_t));
	if (sw->sent == NULL)
		goto nomem;
	io_widen_pipe(fd);
	sw->fd = fd;
	sw->fmt = fmt;
	sw->nr_pages = nr_pages;
	return sw;
nomem:
	free(sw);
	xp_seterr(XE_SYS, "stream writer");
	return NULL;
}

void
sw_free(struct sw *sw)
{
	if (sw == NULL)
		return;
	free(sw->sent);
	free(sw);
}

const struct sw_stats *
sw_stats(const struct sw *sw)
{
	return &sw->st;
}

static int
sw_writev(struct sw *sw, struct iovec *iov, int cnt)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	if (writev_all(sw->fd, iov, cnt) < 0)
		return -1;
	sw->st.bytes += total;
	return 0;
}

/* A record of either layer: header, body, padding in one writev. */
static int
write_rec(struct sw *sw, uint32_t type, const void *body, uint32_t len)
{
	struct rec_hdr rh = { .type = type, .length = len };
	struct iovec iov[3];
	int cnt = 0;

	if (len > REC_LENGTH_MAX) {
		xp_seterr(XE_USAGE, "record %s of %" PRIu32 " bytes is too long",
		    xc_rec_name(type), len);
		return -1;
	}
	iov[cnt++] = (struct iovec){ &rh, sizeof(rh) };
	if (len)
		iov[cnt++] = (struct iovec){ (void *)body, len };
	if (REC_PADDED(len) != len)
		iov[cnt++] = (struct iovec){ (void *)zero_pad,
		    REC_PADDED(len) - len };
	if (sw_writev(sw, iov, cnt) < 0)
		return -1;
	sw->st.records++;
	return 0;
}

int
sw_headers(struct sw *sw, uint32_t dom_type, const char *json)
{
	struct xl_hdr xh;
	struct libxl_hdr lh;
	struct xc_ihdr ih;
	struct xc_dhdr dh;
	uint32_t config_len = json ? strlen(json) + 1 : 0;
	struct iovec iov[4];

	if (sw->fmt == FMT_XL) {
		if (config_len > XL_OPTDATA_MAX - 4) {
			xp_seterr(XE_USAGE, "domain config of %" PRIu32
			    " bytes is too long", config_len);
			return -1;
		}
		memset(&xh, 0, sizeof(xh));
		memcpy(xh.magic, XL_MAGIC, XL_MAGIC_LEN);
		xh.byteorder = XL_BYTEORDER;
		xh.mandatory_flags = XL_MANDATORY_STREAMV2 |
		    (config_len ? XL_MANDATORY_JSON : 0);
		xh.optional_data_len = 4 + config_len;
		iov[0] = (struct iovec){ &xh, sizeof(xh) };
		iov[1] = (struct iovec){ &config_len, 4 };
		iov[2] = (struct iovec){ (void *)json, config_len };
		if (sw_writev(sw, iov, 3) < 0)
			return -1;
	}
	if (sw->fmt != FMT_LIBXC) {
		lh.ident = htobe64(LIBXL_IDENT);
		lh.version = htobe32(LIBXL_VERSION);
		lh.options = 0;
		iov[0] = (struct iovec){ &lh, sizeof(lh) };
		if (sw_writev(sw, iov, 1) < 0 ||
		    write_rec(sw, LIBXL_REC_LIBXC_CONTEXT, NULL, 0) < 0)
			return -1;
	}
	memset(&ih, 0, sizeof(ih));
	ih.marker = IHDR_MARKER;
	ih.id = htobe32(IHDR_ID);
	ih.version = htobe32(IHDR_VERSION);
	memset(&dh, 0, sizeof(dh));
	dh.type = dom_type;
	dh.page_shift = XP_PAGE_SHIFT;
	dh.xen_major = 4;
	dh.xen_minor = 17;
	iov[0] = (struct iovec){ &ih, sizeof(ih) };
	iov[1] = (struct iovec){ &dh, sizeof(dh) };
	if (sw_writev(sw, iov, 2) < 0)
		return -1;
	sw->headers_done = 1;
	return 0;
}

void
sw_headers_done(struct sw *sw)
{
	sw->headers_done = 1;
}

int
sw_record(struct sw *sw, uint32_t type, const void *body, uint32_t len)
{
	return write_rec(sw, type, body, len);
}

static int
page_is_zero(const uint8_t *p)
{
	return p[0] == 0 && memcmp(p, p + 1, XP_PAGE_SIZE - 1) == 0;
}

static int
test_bit(const uint64_t *map, uint64_t bit)
{
	return (map[bit / 64] >> (bit % 64)) & 1;
}

static void
set_bit(uint64_t *map, uint64_t bit)
{
	map[bit / 64] |= 1ULL << (bit % 64);
}

int
sw_pages(struct sw *sw, const uint64_t *pfns, const uint32_t *types,
    unsigned int n, const void *data)
{
	uint32_t t;
	struct xc_page_data_hdr ph = { .count = n };
	struct rec_hdr rh = { .type = REC_TYPE_PAGE_DATA };
	const uint8_t *page = data;
	uint64_t nr_data = 0, len;
	int cnt = 0;
	unsigned int i;

	if (n == 0 || n > PAGE_BATCH_MAX) {
		xp_seterr(XE_USAGE, "page batch of %u pages", n);
		return -1;
	}
	sw->iov[cnt++] = (struct iovec){ &rh, sizeof(rh) };
	sw->iov[cnt++] = (struct iovec){ &ph, sizeof(ph) };
	sw->iov[cnt++] = (struct iovec){ sw->pfn_words, n * sizeof(uint64_t) };
	for (i = 0; i < n; i++, page += XP_PAGE_SIZE) {
		if (pfns[i] >= sw->nr_pages) {
			xp_seterr(XE_USAGE, "pfn 0x%" PRIx64 " past the end of "
			    "the domain (%" PRIu64 " pages)", pfns[i],
			    sw->nr_pages);
			return -1;
		}
		t = types != NULL ? types[i] : PFINFO_NOTAB;
		if (!PFINFO_VALID(t)) {
			xp_seterr(XE_USAGE, "pfn 0x%" PRIx64 ": page type 0x%x",
			    pfns[i], t);
			return -1;
		}
		if (!PFINFO_HAS_DATA(t)) {
			sw->pfn_words[i] = pfns[i] |
			    (uint64_t)t << PAGE_DATA_TYPE_SHIFT;
		} else if (t == PFINFO_NOTAB && !test_bit(sw->sent, pfns[i]) &&
		    page_is_zero(page)) {
			sw->pfn_words[i] = pfns[i] |
			    (uint64_t)PFINFO_XALLOC << PAGE_DATA_TYPE_SHIFT;
		} else {
			sw->pfn_words[i] = pfns[i] |
			    (uint64_t)t << PAGE_DATA_TYPE_SHIFT;
			nr_data++;
			/* Adjacent pages with data share one iovec. */
			if (cnt > 3 && (const uint8_t *)sw->iov[cnt - 1].iov_base +
			    sw->iov[cnt - 1].iov_len == page)
				sw->iov[cnt - 1].iov_len += XP_PAGE_SIZE;
			else
				sw->iov[cnt++] = (struct iovec){ (void *)page,
				    XP_PAGE_SIZE };
		}
	}
	len = sizeof(ph) + (uint64_t)n * sizeof(uint64_t) + nr_data * XP_PAGE_SIZE;
	rh.length = len;	/* <= 8 + 8K + 4M: always a multiple of 8 */
	if (sw_writev(sw, sw->iov, cnt) < 0)
		return -1;
	for (i = 0; i < n; i++)
		set_bit(sw->sent, pfns[i]);
	sw->st.records++;
	sw->st.pages_data += nr_data;
	sw->st.pages_zero += n - nr_data;
	return 0;
}

int
sw_end(struct sw *sw)
{
	if (write_rec(sw, REC_TYPE_END, NULL, 0) < 0)
		return -1;
	if (sw->fmt != FMT_LIBXC && write_rec(sw, LIBXL_REC_END, NULL, 0) < 0)
		return -1;
	sw->ended = 1;
	return 0;
}

int
sw_raw(struct sw *sw, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return sw_writev(sw, &iov, 1);
}

void
sw_note_sent(struct sw *sw, const uint64_t *pfn_words, unsigned int n)
{
	uint64_t pfn;
	unsigned int i;

	for (i = 0; i < n; i++) {
		pfn = pfn_words[i] & PAGE_DATA_PFN_MASK;
		if (pfn < sw->nr_pages)
			set_bit(sw->sent, pfn);
	}
}

/* ---------------- reader ---------------- */

enum sr_state { SR_HDRS, SR_XC, SR_XL, SR_DONE };

struct sr {
	int fd;
	enum sr_state state;
	enum stream_fmt fmt;
	uint32_t xc_version;
	uint64_t off;
	uint64_t nr_pages;
	uint8_t *hdr_raw;
	size_t hdr_len;
	char *json;
	uint8_t *buf;		/* one record: header, body, padding */
	size_t cap;
	int defer;		/* leave PAGE_DATA's pages in the input */
	uint64_t pending;	/* deferred bytes not yet copied out */
};

struct sr *
sr_new(int fd)
{
	struct sr *sr = calloc(1, sizeof(*sr));

	if (sr == NULL) {
		xp_seterr(XE_SYS, "stream reader");
		return NULL;
	}
	io_widen_pipe(fd);
	sr->fd = fd;
	sr->nr_pages = DOM_PAGES_MAX;
	return sr;
}

void
sr_free(struct sr *sr)
{
	if (sr == NULL)
		return;
	free(sr->hdr_raw);
	free(sr->json);
	free(sr->buf);
	free(sr);
}

void
sr_set_nr_pages(struct sr *sr, uint64_t nr_pages)
{
	sr->nr_pages = nr_pages;
}

int
sr_done(const struct sr *sr)
{
	return sr->state == SR_DONE;
}

uint64_t
sr_offset(const struct sr *sr)
{
	return sr->off;
}

/*
 * Read exactly len bytes.  1: done; 0: the input ended before the first
 * byte (only when eof_ok); -1: error or truncation, said in xp_err.
 */
static int
sr_read(struct sr *sr, void *dst, size_t len, int eof_ok, const char *what)
{
	uint8_t *p = dst;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		/* a signal that came outside read() (libraries retry EINTR) */
		if (xp_interrupted) {
			errno = EINTR;
			xp_seterr(XE_SYS, "offset %" PRIu64 ": interrupted "
			    "while reading %s", sr->off + got, what);
			return -1;
		}
		n = read(sr->fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR && !xp_interrupted)
				continue;
			if (errno == EINTR)
				xp_seterr(XE_SYS, "offset %" PRIu64
				    ": interrupted while reading %s",
				    sr->off + got, what);
			else
				xp_seterr(XE_SYS, "offset %" PRIu64
				    ": reading %s", sr->off + got, what);
			return -1;
		}
		if (n == 0) {
			if (got == 0 && eof_ok)
				return 0;
			xp_seterr(XE_STREAM, "offset %" PRIu64 ": stream "
			    "truncated in %s (%zu of %zu bytes)",
			    sr->off + got, what, got, len);
			return -1;
		}
		got += n;
	}
	sr->off += len;
	return 1;
}

/* Keep header bytes for pass-through. */
static int
hdr_keep(struct sr *sr, const void *p, size_t len)
{
	uint8_t *n = realloc(sr->hdr_raw, sr->hdr_len + len);

	if (n == NULL) {
		xp_seterr(XE_SYS, "stream headers");
		return -1;
	}
	memcpy(n + sr->hdr_len, p, len);
	sr->hdr_raw = n;
	sr->hdr_len += len;
	return 0;
}

static int
sr_read_hdr(struct sr *sr, void *dst, size_t len, const char *what)
{
	if (sr_read(sr, dst, len, 0, what) < 0)
		return -1;
	return hdr_keep(sr, dst, len);
}

static int
read_xl_header(struct sr *sr, const uint8_t *first8, struct stream_hdrs *h)
{
	struct xl_hdr xh;
	uint32_t config_len;
	uint8_t *opt = NULL;

	memcpy(&xh, first8, 8);
	if (sr_read_hdr(sr, (uint8_t *)&xh + 8, sizeof(xh) - 8,
	    "xl header") < 0)
		return -1;
	if (memcmp(xh.magic, XL_MAGIC, XL_MAGIC_LEN) != 0) {
		xp_seterr(XE_STREAM, "offset 0: bad xl header magic");
		return -1;
	}
	if (xh.byteorder != XL_BYTEORDER) {
		xp_seterr(XE_STREAM, "offset 32: xl header byte order 0x%08"
		    PRIx32 " is not this host's", xh.byteorder);
		return -1;
	}
	if (xh.mandatory_flags & ~XL_MANDATORY_KNOWN) {
		xp_seterr(XE_STREAM, "offset 36: unknown mandatory xl flags "
		    "0x%08" PRIx32, xh.mandatory_flags & ~XL_MANDATORY_KNOWN);
		return -1;
	}
	if (!(xh.mandatory_flags & XL_MANDATORY_STREAMV2)) {
		xp_seterr(XE_STREAM, "offset 36: legacy (pre-v2) xl save "
		    "file, not supported");
		return -1;
	}
	if (xh.optional_data_len > XL_OPTDATA_MAX) {
		xp_seterr(XE_STREAM, "offset 44: xl optional data of %" PRIu32
		    " bytes is over the limit of %u", xh.optional_data_len,
		    XL_OPTDATA_MAX);
		return -1;
	}
	h->xl_mandatory = xh.mandatory_flags;
	if (xh.optional_data_len == 0)
		return 0;
	opt = malloc(xh.optional_data_len);
	if (opt == NULL) {
		xp_seterr(XE_SYS, "xl header");
		return -1;
	}
	if (sr_read_hdr(sr, opt, xh.optional_data_len, "xl optional data") < 0)
		goto err;
	if (xh.optional_data_len < 4)
		goto done;
	memcpy(&config_len, opt, 4);
	if (config_len > xh.optional_data_len - 4) {
		xp_seterr(XE_STREAM, "offset 48: xl config length %" PRIu32
		    " larger than the optional data (%" PRIu32 " bytes)",
		    config_len, xh.optional_data_len - 4);
		goto err;
	}
	if (config_len > 0 && (xh.mandatory_flags & XL_MANDATORY_JSON)) {
		sr->json = malloc(config_len + 1);
		if (sr->json == NULL) {
			xp_seterr(XE_SYS, "xl config");
			goto err;
		}
		memcpy(sr->json, opt + 4, config_len);
		sr->json[config_len] = '\0';
		h->json = sr->json;
		h->json_len = strnlen(sr->json, config_len);
	}
done:
	free(opt);
	return 0;
err:
	free(opt);
	return -1;
}

static int
read_libxl_header(struct sr *sr, const uint8_t *first8, struct stream_hdrs *h)
{
	struct libxl_hdr lh;
	struct rec_hdr rh;
	uint64_t off;

	memcpy(&lh, first8, 8);
	if (sr_read_hdr(sr, (uint8_t *)&lh + 8, sizeof(lh) - 8,
	    "libxl header") < 0)
		return -1;
	off = sr->off - sizeof(lh);
	if (be64toh(lh.ident) != LIBXL_IDENT) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": bad libxl header "
		    "ident", off);
		return -1;
	}
	if (be32toh(lh.version) != LIBXL_VERSION) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": libxl stream version "
		    "%" PRIu32 ", only %u is known", off + 8,
		    be32toh(lh.version), LIBXL_VERSION);
		return -1;
	}
	h->libxl_options = be32toh(lh.options);
	if (h->libxl_options & LIBXL_OPT_BIG_ENDIAN) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": big-endian libxl "
		    "stream, not supported", off + 12);
		return -1;
	}
	if (h->libxl_options & LIBXL_OPT_RESZ_MASK) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": reserved libxl "
		    "options 0x%08" PRIx32 " set", off + 12, h->libxl_options);
		return -1;
	}
	off = sr->off;
	if (sr_read_hdr(sr, &rh, sizeof(rh), "libxl record header") < 0)
		return -1;
	if (rh.type != LIBXL_REC_LIBXC_CONTEXT || rh.length != 0) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": expected an empty "
		    "libxl LIBXC_CONTEXT record, found %s of %" PRIu32 " bytes",
		    off, xl_rec_name(rh.type), rh.length);
		return -1;
	}
	return 0;
}

static int
read_libxc_header(struct sr *sr, const uint8_t *first8, struct stream_hdrs *h)
{
	struct xc_ihdr ih;
	struct xc_dhdr dh;
	uint64_t off;
	uint16_t options;

	memcpy(&ih, first8, 8);
	if (sr_read_hdr(sr, (uint8_t *)&ih + 8, sizeof(ih) - 8,
	    "image header") < 0)
		return -1;
	off = sr->off - sizeof(ih);
	if (ih.marker != IHDR_MARKER || be32toh(ih.id) != IHDR_ID) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": bad libxc image "
		    "header magic", off);
		return -1;
	}
	h->xc_version = be32toh(ih.version);
	if (h->xc_version < 2 || h->xc_version > 3) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": libxc stream version "
		    "%" PRIu32 ", only 2 and 3 are known", off + 12,
		    h->xc_version);
		return -1;
	}
	options = be16toh(ih.options);
	if (options & IHDR_OPT_BIG_ENDIAN) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": big-endian libxc "
		    "stream, not supported", off + 16);
		return -1;
	}
	if ((options & IHDR_OPT_RESZ_MASK) || ih._res1 || ih._res2) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": reserved bits set "
		    "in the image header", off + 16);
		return -1;
	}
	if (sr_read_hdr(sr, &dh, sizeof(dh), "domain header") < 0)
		return -1;
	off += sizeof(ih);
	if (dh.type != DHDR_TYPE_X86_PV && dh.type != DHDR_TYPE_X86_HVM) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": unknown domain type "
		    "0x%" PRIx32, off, dh.type);
		return -1;
	}
	if (dh.page_shift != XP_PAGE_SHIFT) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": page shift %u, only "
		    "12 is supported", off + 4, dh.page_shift);
		return -1;
	}
	h->dom_type = dh.type;
	h->xen_major = dh.xen_major;
	h->xen_minor = dh.xen_minor;
	sr->xc_version = h->xc_version;
	return 0;
}

int
sr_headers(struct sr *sr, struct stream_hdrs *h)
{
	static const uint8_t libxl_ident[8] = "LibxlFmt";
	static const uint8_t xc_marker[8] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t first8[8];
	int rc;

	memset(h, 0, sizeof(*h));
	if (sr->state != SR_HDRS) {
		xp_seterr(XE_USAGE, "stream headers read twice");
		return -1;
	}
	rc = sr_read(sr, first8, 8, 1, "stream header");
	if (rc <= 0)
		return rc;
	if (hdr_keep(sr, first8, 8) < 0)
		return -1;
	if (memcmp(first8, XL_MAGIC, 8) == 0) {
		h->fmt = FMT_XL;
		if (read_xl_header(sr, first8, h) < 0)
			return -1;
		if (sr_read_hdr(sr, first8, 8, "libxl header") < 0)
			return -1;
		if (memcmp(first8, libxl_ident, 8) != 0) {
			xp_seterr(XE_STREAM, "offset %" PRIu64 ": expected a "
			    "libxl header after the xl header", sr->off - 8);
			return -1;
		}
	} else if (memcmp(first8, libxl_ident, 8) == 0) {
		h->fmt = FMT_LIBXL;
	} else if (memcmp(first8, xc_marker, 8) == 0) {
		h->fmt = FMT_LIBXC;
	} else {
		xp_seterr(XE_STREAM, "offset 0: not a Xen migration stream "
		    "(no xl, libxl or libxc header)");
		return -1;
	}
	if (h->fmt != FMT_LIBXC) {
		if (read_libxl_header(sr, first8, h) < 0)
			return -1;
		if (sr_read_hdr(sr, first8, 8, "image header") < 0)
			return -1;
	}
	if (read_libxc_header(sr, first8, h) < 0)
		return -1;
	sr->fmt = h->fmt;
	sr->state = SR_XC;
	h->raw = sr->hdr_raw;
	h->raw_len = sr->hdr_len;
	return 1;
}

static int
check_page_data(struct sr *sr, struct sr_rec *r)
{
	struct xc_page_data_hdr ph;
	uint64_t nr_data = 0, w, pfn, want;
	uint32_t i;
	unsigned int t;

	if (r->length < sizeof(ph) + sizeof(uint64_t)) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": PAGE_DATA record of "
		    "%" PRIu32 " bytes is too short", r->offset, r->length);
		return -1;
	}
	memcpy(&ph, r->body, sizeof(ph));
	if (ph.count == 0 ||
	    ph.count > (r->length - sizeof(ph)) / sizeof(uint64_t)) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": PAGE_DATA count %"
		    PRIu32 " does not fit the body of %" PRIu32 " bytes",
		    r->offset, ph.count, r->length);
		return -1;
	}
	r->count = ph.count;
	/* body is 8-aligned in a malloc'd buffer, so the pfn words are too */
	r->pfn_words = (const uint64_t *)(r->body + sizeof(ph));
	for (i = 0; i < ph.count; i++) {
		w = r->pfn_words[i];
		pfn = w & PAGE_DATA_PFN_MASK;
		t = PAGE_DATA_TYPE(w);
		if (w & PAGE_DATA_RES_MASK) {
			xp_seterr(XE_STREAM, "offset %" PRIu64 ": PAGE_DATA "
			    "pfn[%" PRIu32 "] has reserved bits set (0x%016"
			    PRIx64 ")", r->offset, i, w);
			return -1;
		}
		if (!PFINFO_VALID(t)) {
			xp_seterr(XE_STREAM, "offset %" PRIu64 ": PAGE_DATA "
			    "pfn[%" PRIu32 "] has unknown page type 0x%x",
			    r->offset, i, t);
			return -1;
		}
		if (pfn >= sr->nr_pages && t != PFINFO_XTAB) {
			xp_seterr(XE_STREAM, "offset %" PRIu64 ": PAGE_DATA "
			    "pfn 0x%" PRIx64 " past the end of the domain "
			    "(%" PRIu64 " pages)", r->offset, pfn, sr->nr_pages);
			return -1;
		}
		if (PFINFO_HAS_DATA(t))
			nr_data++;
	}
	want = sizeof(ph) + (uint64_t)ph.count * 8 + nr_data * XP_PAGE_SIZE;
	if (r->length != want) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": PAGE_DATA record of "
		    "%" PRIu32 " bytes, %" PRIu64 " expected for %" PRIu32
		    " pfns and %" PRIu64 " pages", r->offset, r->length, want,
		    ph.count, nr_data);
		return -1;
	}
	r->data_len = nr_data * XP_PAGE_SIZE;
	if (r->raw_len < sizeof(struct rec_hdr) + r->length)
		return 0;		/* deferred: the pages are still to come */
	r->page_data = r->body + sizeof(ph) + (uint64_t)ph.count * 8;
	return 0;
}

static int
bad_len(const struct sr_rec *r, const char *want)
{
	xp_seterr(XE_STREAM, "offset %" PRIu64 ": %s record of %" PRIu32
	    " bytes, %s", r->offset, xc_rec_name(r->type), r->length, want);
	return -1;
}

/* Length rules of the spec and of verify-stream-v2, per libxc record type. */
static int
check_xc_record(struct sr *sr, struct sr_rec *r)
{
	uint32_t len = r->length, count;

	switch (r->type) {
	case REC_TYPE_END:
	case REC_TYPE_VERIFY:
	case REC_TYPE_CHECKPOINT:
		return len == 0 ? 0 : bad_len(r, "0 expected");
	case REC_TYPE_STATIC_DATA_END:
		if (sr->xc_version < 3) {
			xp_seterr(XE_STREAM, "offset %" PRIu64 ": "
			    "STATIC_DATA_END in a version 2 stream", r->offset);
			return -1;
		}
		return len == 0 ? 0 : bad_len(r, "0 expected");
	case REC_TYPE_PAGE_DATA:
		return check_page_data(sr, r);
	case REC_TYPE_X86_PV_INFO:
		return len == sizeof(struct xc_pv_info) ? 0 :
		    bad_len(r, "8 expected");
	case REC_TYPE_X86_PV_P2M_FRAMES:
		return len >= 8 && len % 8 == 0 ? 0 :
		    bad_len(r, "a multiple of 8 of at least 8 expected");
	case REC_TYPE_X86_PV_VCPU_BASIC:
	case REC_TYPE_X86_PV_VCPU_EXTENDED:
	case REC_TYPE_X86_PV_VCPU_XSAVE:
	case REC_TYPE_X86_PV_VCPU_MSRS:
		/* Errata: 4.6-4.8 wrote some of these with no content. */
		return len == 0 || len >= sizeof(struct xc_pv_vcpu_hdr) ? 0 :
		    bad_len(r, "at least 8 expected");
	case REC_TYPE_SHARED_INFO:
		return len == XP_PAGE_SIZE ? 0 : bad_len(r, "4096 expected");
	case REC_TYPE_X86_TSC_INFO:
		return len == sizeof(struct xc_tsc_info) ? 0 :
		    bad_len(r, "24 expected");
	case REC_TYPE_HVM_CONTEXT:
		return len > 0 ? 0 : bad_len(r, "content expected");
	case REC_TYPE_HVM_PARAMS:
		if (len == 0)
			return 0;
		if (len < sizeof(struct xc_hvm_params_hdr))
			return bad_len(r, "at least 8 expected");
		memcpy(&count, r->body, 4);
		if ((uint64_t)count * sizeof(struct xc_hvm_param) !=
		    len - sizeof(struct xc_hvm_params_hdr)) {
			xp_seterr(XE_STREAM, "offset %" PRIu64 ": HVM_PARAMS "
			    "count %" PRIu32 " does not match its %" PRIu32
			    " bytes", r->offset, count, len);
			return -1;
		}
		return 0;
	case REC_TYPE_TOOLSTACK:
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": deprecated TOOLSTACK "
		    "record", r->offset);
		return -1;
	case REC_TYPE_CHECKPOINT_DIRTY_PFN_LIST:
		return len % 8 == 0 ? 0 : bad_len(r, "a multiple of 8 expected");
	case REC_TYPE_X86_CPUID_POLICY:
		return len > 0 && len % CPUID_LEAF_SIZE == 0 ? 0 :
		    bad_len(r, "a multiple of 24 expected");
	case REC_TYPE_X86_MSR_POLICY:
		return len > 0 && len % MSR_ENTRY_SIZE == 0 ? 0 :
		    bad_len(r, "a multiple of 16 expected");
	}
	if (r->type & REC_TYPE_OPTIONAL)
		return 0;
	xp_seterr(XE_STREAM, "offset %" PRIu64 ": unknown mandatory libxc "
	    "record type 0x%08" PRIx32, r->offset, r->type);
	return -1;
}

static int
check_xl_record(struct sr_rec *r)
{
	switch (r->type) {
	case LIBXL_REC_END:
	case LIBXL_REC_CHECKPOINT_END:
		if (r->length == 0)
			return 0;
		break;
	case LIBXL_REC_EMULATOR_XENSTORE:
	case LIBXL_REC_EMULATOR_CONTEXT:
		if (r->length >= sizeof(struct libxl_emulator_hdr))
			return 0;
		break;
	case LIBXL_REC_CHECKPOINT_STATE:
		if (r->length > 0)
			return 0;
		break;
	case LIBXL_REC_LIBXC_CONTEXT:
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": a second libxl "
		    "LIBXC_CONTEXT (checkpointed streams are not supported)",
		    r->offset);
		return -1;
	default:
		if (r->type & REC_TYPE_OPTIONAL)
			return 0;
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": unknown mandatory "
		    "libxl record type 0x%08" PRIx32, r->offset, r->type);
		return -1;
	}
	xp_seterr(XE_STREAM, "offset %" PRIu64 ": libxl %s record of %" PRIu32
	    " bytes is malformed", r->offset, xl_rec_name(r->type), r->length);
	return -1;
}

/*
 * A deferred PAGE_DATA record: read its page data header and pfn words
 * into sr->buf after rh, leaving the pages.  The count is bounded by the
 * record's length before anything is read for it; check_page_data checks
 * the rest.  Returns the bytes now in sr->buf, 0 on error.
 */
static size_t
read_page_prefix(struct sr *sr, const struct rec_hdr *rh)
{
	struct xc_page_data_hdr ph;
	size_t have = sizeof(*rh) + sizeof(ph);
	uint64_t pfn_bytes;

	if (rh->length < sizeof(ph) + sizeof(uint64_t))
		return sizeof(*rh);	/* too short: check_page_data says */
	if (sr_read(sr, sr->buf + sizeof(*rh), sizeof(ph), 0,
	    "libxc record") < 0)
		return 0;
	memcpy(&ph, sr->buf + sizeof(*rh), sizeof(ph));
	pfn_bytes = (uint64_t)ph.count * sizeof(uint64_t);
	if (ph.count == 0 || pfn_bytes > rh->length - sizeof(ph))
		return have;		/* check_page_data says */
	if (sr_read(sr, sr->buf + have, pfn_bytes, 0, "libxc record") < 0)
		return 0;
	have += pfn_bytes;
	sr->pending = rh->length - (have - sizeof(*rh));
	return have;
}

void
sr_defer_data(struct sr *sr, int on)
{
	sr->defer = on;
}

int
sr_next(struct sr *sr, struct sr_rec *r)
{
	struct rec_hdr rh;
	uint64_t padded;
	size_t need;
	uint8_t *n;
	int rc;

	memset(r, 0, sizeof(*r));
	if (sr->pending) {
		xp_seterr(XE_USAGE, "offset %" PRIu64 ": the last record's "
		    "page data was not copied", sr->off);
		return -1;
	}
	if (sr->state == SR_DONE)
		return 0;
	if (sr->state == SR_HDRS) {
		xp_seterr(XE_USAGE, "stream records read before the headers");
		return -1;
	}
	r->layer = sr->state == SR_XC ? LAYER_XC : LAYER_XL;
	r->offset = sr->off;
	rc = sr_read(sr, &rh, sizeof(rh), 1, "record header");
	if (rc <= 0)
		return rc;
	if (rh.length > REC_LENGTH_MAX) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": %s record length %"
		    PRIu32 " is over the limit of %u bytes", r->offset,
		    r->layer == LAYER_XC ? xc_rec_name(rh.type) :
		    xl_rec_name(rh.type), rh.length, REC_LENGTH_MAX);
		return -1;
	}
	padded = REC_PADDED(rh.length);
	need = sizeof(rh) + padded;
	if (need > sr->cap) {
		n = realloc(sr->buf, need);
		if (n == NULL) {
			xp_seterr(XE_SYS, "offset %" PRIu64 ": record of %"
			    PRIu32 " bytes", r->offset, rh.length);
			return -1;
		}
		sr->buf = n;
		sr->cap = need;
	}
	memcpy(sr->buf, &rh, sizeof(rh));
	r->type = rh.type;
	r->length = rh.length;
	r->body = sr->buf + sizeof(rh);
	r->raw = sr->buf;
	if (sr->defer && r->layer == LAYER_XC &&
	    rh.type == REC_TYPE_PAGE_DATA) {
		if ((need = read_page_prefix(sr, &rh)) == 0)
			return -1;
	} else if (padded && sr_read(sr, sr->buf + sizeof(rh), padded, 0,
	    r->layer == LAYER_XC ? "libxc record" : "libxl record") < 0)
		return -1;
	r->raw_len = need;
	if (r->layer == LAYER_XC) {
		if (check_xc_record(sr, r) < 0) {
			sr->pending = 0;
			return -1;
		}
		if (r->type == REC_TYPE_END)
			sr->state = sr->fmt == FMT_LIBXC ? SR_DONE : SR_XL;
	} else {
		if (check_xl_record(r) < 0)
			return -1;
		if (r->type == LIBXL_REC_END)
			sr->state = SR_DONE;
	}
	return 1;
}

/*
 * Move the deferred page data from the reader's fd to out_fd: splice(2)
 * while it works (one of the two is a pipe), else read and write.  splice
 * has no MSG_NOSIGNAL, so a socket gets it only when SIGPIPE is ignored;
 * otherwise send with MSG_NOSIGNAL, and a reader that went away is an
 * EPIPE here, not a signal.  *moved counts what reached out_fd.
 */
static int
copy_pending(struct sr *sr, int out_fd, uint64_t *moved)
{
	static uint8_t buf[64 * 1024];
	int can_splice = 1, is_sock;
	struct sigaction sa;
	struct stat st;
	ssize_t n, w;
	size_t len, off;

	if (sr->pending == 0)
		return 0;
	is_sock = fstat(out_fd, &st) == 0 && S_ISSOCK(st.st_mode);
	if (is_sock && (sigaction(SIGPIPE, NULL, &sa) < 0 ||
	    sa.sa_handler != SIG_IGN))
		can_splice = 0;
	while (sr->pending > 0) {
		if (xp_interrupted) {
			errno = EINTR;
			xp_seterr(XE_SYS, "offset %" PRIu64 ": interrupted "
			    "while copying page data", sr->off);
			return -1;
		}
		len = sr->pending > sizeof(buf) * 16 ? sizeof(buf) * 16 :
		    sr->pending;
		if (can_splice) {
			n = splice(sr->fd, NULL, out_fd, NULL, len,
			    SPLICE_F_MOVE | SPLICE_F_MORE);
			if (n < 0 && errno == EINTR && !xp_interrupted)
				continue;
			if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
				can_splice = 0;	/* neither fd is a pipe */
				continue;
			}
			if (n < 0 && errno == EPIPE) {
				xp_seterr(XE_SYS, "write stream");
				return -1;
			}
			if (n < 0) {
				xp_seterr(XE_SYS, "offset %" PRIu64 ": copying "
				    "page data", sr->off);
				return -1;
			}
		} else {
			if (len > sizeof(buf))
				len = sizeof(buf);
			n = read(sr->fd, buf, len);
			if (n < 0 && errno == EINTR && !xp_interrupted)
				continue;
			if (n < 0) {
				xp_seterr(XE_SYS, "offset %" PRIu64 ": reading "
				    "page data", sr->off);
				return -1;
			}
			for (off = 0; off < (size_t)n; off += w) {
				w = is_sock ? send(out_fd, buf + off, n - off,
				    MSG_NOSIGNAL) :
				    write(out_fd, buf + off, n - off);
				if (w < 0 && errno == EINTR && !xp_interrupted) {
					w = 0;
					continue;
				}
				if (w < 0) {
					xp_seterr(XE_SYS, "write stream");
					return -1;
				}
			}
		}
		if (n == 0) {
			errno = 0;
			xp_seterr(XE_STREAM, "stream truncated at offset %"
			    PRIu64 " in PAGE_DATA's pages (%" PRIu64 " bytes "
			    "missing)", sr->off, sr->pending);
			return -1;
		}
		sr->off += n;
		sr->pending -= n;
		*moved += n;
	}
	return 0;
}

int
sw_copy_data(struct sw *sw, struct sr *sr)
{
	return copy_pending(sr, sw->fd, &sw->st.bytes);
}

int
sr_copy_data(struct sr *sr, int out_fd)
{
	uint64_t moved = 0;

	return copy_pending(sr, out_fd, &moved);
}
