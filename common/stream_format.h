/*
 * stream_format.h - the wire format of a Xen Migration v2 stream.
 *
 * Three layers, outermost first, each optional on input:
 *   xl savefile header  (tools/xl: magic, byte order, flags, JSON config)
 *   libxl stream        (docs/specs/libxl-migration-stream, revision 2)
 *   libxc stream        (docs/specs/libxc-migration-stream, revision 3)
 * man/xenpipe-stream.5 summarises the layout.  All integers after the
 * big-endian image headers are little-endian; we refuse big-endian streams.
 * Included by stream.c and by whatever builds or inspects records.
 */
#ifndef XENPIPE_STREAM_FORMAT_H
#define XENPIPE_STREAM_FORMAT_H

#include <stdint.h>

#define XP_PAGE_SHIFT		12
#define XP_PAGE_SIZE		(1u << XP_PAGE_SHIFT)
/* Refuse guests larger than 1 TiB: bounds every pfn when a stream names no size. */
#define DOM_PAGES_MAX		(1ULL << 28)

/* libxenguest refuses records over this; so do we, before allocating. */
#define REC_LENGTH_MAX		(128u << 20)
#define REC_ALIGN		8u
#define REC_PADDED(len)		(((uint64_t)(len) + REC_ALIGN - 1) & ~(uint64_t)(REC_ALIGN - 1))
#define REC_TYPE_OPTIONAL	0x80000000u

/* ---- libxc image header (big-endian) ---- */
#define IHDR_MARKER		0xffffffffffffffffULL
#define IHDR_ID			0x58454E46u	/* "XENF" */
#define IHDR_VERSION		3u
#define IHDR_OPT_BIG_ENDIAN	0x0001u
#define IHDR_OPT_RESZ_MASK	0xfffeu

struct xc_ihdr {
	uint64_t marker;
	uint32_t id;
	uint32_t version;
	uint16_t options;
	uint16_t _res1;
	uint32_t _res2;
};

/* ---- libxc domain header ---- */
#define DHDR_TYPE_X86_PV	0x00000001u
#define DHDR_TYPE_X86_HVM	0x00000002u

struct xc_dhdr {
	uint32_t type;
	uint16_t page_shift;
	uint16_t _res1;
	uint32_t xen_major;
	uint32_t xen_minor;
};

/* ---- record header, shared by libxc and libxl records ---- */
/* image + domain header: the last bytes of the headers of every format */
#define XC_HDRS_LEN	(sizeof(struct xc_ihdr) + sizeof(struct xc_dhdr))

struct rec_hdr {
	uint32_t type;
	uint32_t length;
};

/* libxc record types */
#define REC_TYPE_END				0x00u
#define REC_TYPE_PAGE_DATA			0x01u
#define REC_TYPE_X86_PV_INFO			0x02u
#define REC_TYPE_X86_PV_P2M_FRAMES		0x03u
#define REC_TYPE_X86_PV_VCPU_BASIC		0x04u
#define REC_TYPE_X86_PV_VCPU_EXTENDED		0x05u
#define REC_TYPE_X86_PV_VCPU_XSAVE		0x06u
#define REC_TYPE_SHARED_INFO			0x07u
#define REC_TYPE_X86_TSC_INFO			0x08u
#define REC_TYPE_HVM_CONTEXT			0x09u
#define REC_TYPE_HVM_PARAMS			0x0au
#define REC_TYPE_TOOLSTACK			0x0bu
#define REC_TYPE_X86_PV_VCPU_MSRS		0x0cu
#define REC_TYPE_VERIFY				0x0du
#define REC_TYPE_CHECKPOINT			0x0eu
#define REC_TYPE_CHECKPOINT_DIRTY_PFN_LIST	0x0fu
#define REC_TYPE_STATIC_DATA_END		0x10u
#define REC_TYPE_X86_CPUID_POLICY		0x11u
#define REC_TYPE_X86_MSR_POLICY			0x12u
#define REC_TYPE_XC_MAX				0x12u

/* PAGE_DATA: header, then count pfn words, then the data pages */
struct xc_page_data_hdr {
	uint32_t count;
	uint32_t _res1;
};

#define PAGE_DATA_PFN_MASK	0x000fffffffffffffULL	/* bits 0-51 */
#define PAGE_DATA_RES_MASK	0x0ff0000000000000ULL	/* bits 52-59 */
#define PAGE_DATA_TYPE_SHIFT	60
#define PAGE_DATA_TYPE(w)	((unsigned int)((w) >> PAGE_DATA_TYPE_SHIFT))

/* XEN_DOMCTL_PFINFO_* >> 28, as they appear in bits 60-63 */
#define PFINFO_NOTAB		0x0u
#define PFINFO_L1TAB		0x1u
#define PFINFO_L2TAB		0x2u
#define PFINFO_L3TAB		0x3u
#define PFINFO_L4TAB		0x4u
#define PFINFO_L1TAB_PIN	0x9u
#define PFINFO_L2TAB_PIN	0xau
#define PFINFO_L3TAB_PIN	0xbu
#define PFINFO_L4TAB_PIN	0xcu
#define PFINFO_BROKEN		0xdu
#define PFINFO_XALLOC		0xeu
#define PFINFO_XTAB		0xfu

/* A page type carries page data unless it is BROKEN, XALLOC or XTAB. */
#define PFINFO_HAS_DATA(t)	((t) < PFINFO_BROKEN)
#define PFINFO_VALID(t)		((t) <= PFINFO_L4TAB || (t) >= PFINFO_L1TAB_PIN)

/* Batch size of our PAGE_DATA records (as libxenguest's MAX_BATCH_SIZE). */
#define PAGE_BATCH_MAX		1024u

struct xc_pv_info {
	uint8_t guest_width;
	uint8_t pt_levels;
	uint16_t _res1;
	uint32_t _res2;
};

struct xc_pv_p2m_frames_hdr {
	uint32_t start_pfn;
	uint32_t end_pfn;
	/* uint64_t p2m_pfns[] */
};

struct xc_pv_vcpu_hdr {
	uint32_t vcpu_id;
	uint32_t _res1;
	/* context bytes */
};

struct xc_tsc_info {
	uint32_t mode;
	uint32_t khz;
	uint64_t nsec;
	uint32_t incarnation;
	uint32_t _res1;
};

struct xc_hvm_params_hdr {
	uint32_t count;
	uint32_t _res1;
	/* struct xc_hvm_param param[count] */
};

struct xc_hvm_param {
	uint64_t index;
	uint64_t value;
};

/* xen_cpuid_leaf_t and xen_msr_entry_t, the units of the policy records */
#define CPUID_LEAF_SIZE		24u
#define MSR_ENTRY_SIZE		16u

/* ---- libxl stream (header big-endian) ---- */
#define LIBXL_IDENT		0x4c6962786c466d74ULL	/* "LibxlFmt" */
#define LIBXL_VERSION		2u
#define LIBXL_OPT_BIG_ENDIAN	0x0001u
#define LIBXL_OPT_LEGACY	0x0002u
#define LIBXL_OPT_RESZ_MASK	0xfffffffcu

struct libxl_hdr {
	uint64_t ident;
	uint32_t version;
	uint32_t options;
};

#define LIBXL_REC_END			0x00u
#define LIBXL_REC_LIBXC_CONTEXT		0x01u
#define LIBXL_REC_EMULATOR_XENSTORE	0x02u
#define LIBXL_REC_EMULATOR_CONTEXT	0x03u
#define LIBXL_REC_CHECKPOINT_END	0x04u
#define LIBXL_REC_CHECKPOINT_STATE	0x05u
#define LIBXL_REC_MAX			0x05u

struct libxl_emulator_hdr {
	uint32_t id;		/* 0 unknown, 1 qemu-trad, 2 qemu-upstream */
	uint32_t index;
};

/* ---- xl savefile header (native, i.e. little-endian, integers) ---- */
#define XL_MAGIC		"Xen saved domain, xl format\n \0 \r"
#define XL_MAGIC_LEN		32u
#define XL_BYTEORDER		0x01020304u
#define XL_MANDATORY_JSON	0x00000001u
#define XL_MANDATORY_STREAMV2	0x00000002u
#define XL_MANDATORY_KNOWN	(XL_MANDATORY_JSON | XL_MANDATORY_STREAMV2)
/* The JSON config of a domain is small; refuse anything absurd. */
#define XL_OPTDATA_MAX		(1u << 20)

struct xl_hdr {
	char magic[XL_MAGIC_LEN];
	uint32_t byteorder;
	uint32_t mandatory_flags;
	uint32_t optional_flags;
	uint32_t optional_data_len;
	/* optional data: uint32_t config_len, config_len bytes of JSON + NUL */
};

_Static_assert(sizeof(struct xc_ihdr) == 24, "xc_ihdr");
_Static_assert(sizeof(struct xc_dhdr) == 16, "xc_dhdr");
_Static_assert(sizeof(struct rec_hdr) == 8, "rec_hdr");
_Static_assert(sizeof(struct xc_page_data_hdr) == 8, "page_data_hdr");
_Static_assert(sizeof(struct xc_pv_info) == 8, "pv_info");
_Static_assert(sizeof(struct xc_tsc_info) == 24, "tsc_info");
_Static_assert(sizeof(struct xc_hvm_param) == 16, "hvm_param");
_Static_assert(sizeof(struct libxl_hdr) == 16, "libxl_hdr");
_Static_assert(sizeof(struct xl_hdr) == 48, "xl_hdr");

#endif
