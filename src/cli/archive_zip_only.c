/* Linked into the lambdad executable only when libarchive is linked statically
 * (LAMBDAD_STATIC_ARCHIVE). libarchive's zip writer calls this one helper from
 * archive_write_set_format.o, and that object also holds the by-name table of every writer
 * format -- pulling in the xar writer, hence libxml2 and ICU (~1 MB resident at idle). lambdad
 * only ever writes zip, so it provides the helper itself, with libarchive 3.6's meaning:
 * refuse an entry whose file type the format cannot store. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>

int __archive_write_entry_filetype_unsupported(struct archive* a, struct archive_entry* entry,
                                               const char* format);

int __archive_write_entry_filetype_unsupported(struct archive* a, struct archive_entry* entry,
                                               const char* format) {
  archive_set_error(a, EINVAL, "%s: %s format cannot archive this file type",
                    archive_entry_pathname(entry), format);
  return ARCHIVE_FAILED;
}
