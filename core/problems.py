"""The catalogue of problems: every error code the service answers with, once.

Each entry is the code's HTTP status, what it means (English, for the API's users and
the docs) and the message a phone shows (Bahasa Indonesia: what a kader reads in ODK
Collect, or an agency analyst who asks for `Accept-Language: id`). The places that
raise an error add the particulars in English (`AppError.message`); the status is
always the catalogue's, and a code that is not here is a bug
(tests/unit/core/test_problems.py reads every raise site).

The OpenRosa renderer (api/errors.py) shows the Bahasa message; the JSON API shows the
English detail unless the caller prefers Indonesian.
"""

from __future__ import annotations

from typing import NamedTuple


class Problem(NamedTuple):
    status: int
    meaning: str  # English, what the code means
    pesan: str  # Bahasa Indonesia, what to do about it


_ASK = "Hubungi supervisor atau admin posyandu-sync."
_NEW_QR = "Minta kode QR baru kepada supervisor Anda."
_SEND_AGAIN = "Silakan kirim ulang nanti; data di HP tetap tersimpan."
_FIX_FORM = "Periksa isian formulir, perbaiki, lalu kirim lagi."

CATALOGUE: dict[str, Problem] = {
    # ---------------------------------------------------------------- requests
    "request.invalid": Problem(400, "The request is invalid.", "Permintaan tidak valid. " + _ASK),
    "request.bad_value": Problem(400, "A value cannot be stored (a number out of range or a NUL "
                                 "character).", "Ada nilai yang tidak dapat disimpan. " + _FIX_FORM),
    "request.json_too_large": Problem(413, "The JSON or form body is larger than this "
                                      "endpoint accepts.", "Data yang dikirim terlalu besar "
                                      "untuk diterima server. Kirim lebih sedikit data sekaligus."),
    "request.too_large": Problem(413, "The request body is larger than the server accepts.",
                                 "Data terlalu besar untuk diterima server. " + _ASK),
    "request.error": Problem(400, "The request could not be served.", "Permintaan tidak dapat "
                             "dilayani. " + _ASK),
    "request.method_not_allowed": Problem(405, "This method is not used on this path.",
                                          "Metode ini tidak dipakai di alamat ini."),
    "resource.not_found": Problem(404, "No such resource.", "Alamat atau data tidak ditemukan. "
                                  "Periksa alamat server di pengaturan ODK Collect."),
    "resource.conflict": Problem(409, "Conflicts with the current state.",
                                 "Bertentangan dengan data yang sudah ada. " + _ASK),
    "server.error": Problem(500, "Something went wrong on the server; it has been logged.",
                            "Terjadi kesalahan di server dan sudah dicatat. " + _SEND_AGAIN),
    "server.busy": Problem(503, "The database is busy.", "Server sedang sibuk. " + _SEND_AGAIN),
    "server.writer_stopped": Problem(503, "The server could not store this submission.",
                                     "Server belum dapat menyimpan data ini. " + _SEND_AGAIN),
    "server.database_unavailable": Problem(503, "The database does not answer (restarting, "
                                           "or the connection was lost); try again shortly.",
                                           "Server belum dapat menyimpan data karena basis data "
                                           "sedang tidak tersedia. " + _SEND_AGAIN),
    "server.storage_full": Problem(503, "The server's disk is full; nothing was stored. An "
                                   "administrator must free space.", "Penyimpanan server "
                                   "penuh, data belum tersimpan. " + _SEND_AGAIN + " " + _ASK),
    # ---------------------------------------------------------------- data subjects
    "person.merged": Problem(409, "The person was merged into another record; act on that "
                             "one.", "Data orang ini sudah digabung ke data lain; gunakan data "
                             "hasil penggabungan."),
    "person.legal_hold": Problem(409, "The person's data is under a legal retention duty and "
                                 "cannot be erased.", "Data orang ini wajib disimpan menurut "
                                 "ketentuan hukum dan tidak dapat dihapus."),
    "person.bad_change": Problem(400, "The correction is not valid.", "Perbaikan data tidak "
                                 "valid; periksa nama kolom dan nilainya."),
    "submission.purged": Problem(409, "The raw content of this submission was purged (retention "
                                 "period or erasure); its records stay.", "Isi asli kiriman ini "
                                 "sudah dihapus sesuai masa simpan; data hasilnya tetap ada."),
    # ---------------------------------------------------------------- auth
    "auth.unauthenticated": Problem(401, "Not signed in.", "Silakan masuk dengan nama pengguna "
                                    "dan kata sandi Anda."),
    "auth.missing": Problem(401, "No credentials were sent.", "Silakan masuk dengan nama "
                            "pengguna dan kata sandi Anda."),
    "auth.bad_basic": Problem(401, "Malformed HTTP Basic credentials.", "Nama pengguna atau kata "
                              "sandi tidak terbaca. Periksa pengaturan ODK Collect."),
    "auth.bad_credentials": Problem(401, "Wrong username or password.",
                                    "Nama pengguna atau kata sandi salah."),
    "auth.bad_token": Problem(401, "Invalid access token.", "Sesi tidak valid; silakan masuk lagi."),
    "auth.expired": Problem(401, "The session has expired.", "Sesi Anda sudah habis; silakan "
                            "masuk lagi."),
    "auth.inactive": Problem(401, "The account does not exist or is disabled.",
                             "Akun ini tidak aktif. " + _ASK),
    "auth.bad_app_token": Problem(401, "Unknown device token.", "Kode perangkat tidak dikenal. "
                                  + _NEW_QR),
    "auth.revoked_app_token": Problem(403, "The device token has been revoked.",
                                      "Kode perangkat ini sudah dicabut. " + _NEW_QR),
    "auth.app_token_account_disabled": Problem(403, "The account behind this device token is "
                                               "disabled.", "Akun untuk perangkat ini sudah "
                                               "dinonaktifkan. " + _ASK),
    "auth.revoked": Problem(401, "The session was signed out: the password changed or the "
                            "account was disabled.", "Sesi Anda sudah tidak berlaku karena kata "
                            "sandi diganti atau akun dinonaktifkan; silakan masuk lagi."),
    "auth.bad_current_password": Problem(400, "The current password is wrong.",
                                         "Kata sandi saat ini salah."),
    "auth.locked": Problem(429, "Too many failed sign-ins for this account: it is locked for a "
                           "while (Retry-After says how long).", "Terlalu banyak percobaan masuk "
                           "yang gagal untuk akun ini, jadi akun dikunci sementara. Coba lagi "
                           "beberapa menit lagi, atau minta admin mengatur ulang kata sandi."),
    "auth.address_locked": Problem(429, "Too many failed sign-ins from this address: it is "
                                   "locked for a while (Retry-After says how long).",
                                   "Terlalu banyak percobaan masuk yang gagal dari jaringan "
                                   "ini, jadi dikunci sementara. Coba lagi beberapa menit lagi. "
                                   + _ASK),
    "auth.busy": Problem(503, "The server is checking many passwords at once; try again in a "
                         "moment (Retry-After).", "Server sedang memeriksa banyak kata sandi. "
                         "Coba lagi sebentar lagi."),
    "auth.secret_configured": Problem(409, "The JWT secret is set in the configuration "
                                      "(POSYANDU_SECRET_KEY); change it there.",
                                      "Kunci JWT diatur di konfigurasi (POSYANDU_SECRET_KEY); "
                                      "ubah di sana lalu jalankan ulang server."),
    "auth.forbidden": Problem(403, "Signed in, but not allowed.", "Anda tidak berwenang untuk ini."),
    "auth.role": Problem(403, "The account's role does not allow this.",
                         "Peran akun Anda tidak mengizinkan ini."),
    "auth.scope": Problem(403, "Outside the account's scope.", "Data ini di luar wilayah kerja "
                          "Anda."),
    "openrosa.version_missing": Problem(400, "The X-OpenRosa-Version header is missing.",
                                        "Aplikasi tidak mengirim versi OpenRosa. Gunakan ODK "
                                        "Collect atau KoboCollect."),
    "openrosa.version_unsupported": Problem(400, "That OpenRosa version is not supported.",
                                            "Versi OpenRosa ini tidak didukung. Perbarui "
                                            "aplikasi ODK Collect."),
    # ---------------------------------------------------------------- forms
    "form.not_found": Problem(404, "There is no such form on this server.",
                              "Formulir ini tidak ada di server. Unduh ulang daftar formulir "
                              "(Ambil Formulir Kosong)."),
    "form.version_not_found": Problem(404, "The form has no such version on this server.",
                                      "Versi formulir ini sudah tidak berlaku. Unduh formulir "
                                      "terbaru, isi ulang, lalu kirim."),
    "form.closed": Problem(409, "The form is closed and no longer accepts submissions.",
                           "Formulir ini sudah ditutup dan tidak menerima kiriman lagi."),
    "form.media_not_found": Problem(404, "The form has no such media file.",
                                    "Berkas pendukung formulir tidak ditemukan. Unduh ulang "
                                    "formulir."),
    "form.no_version": Problem(400, "A form needs a version.", "Formulir belum punya versi."),
    "form.version_conflict": Problem(409, "That form version is already published with other "
                                     "content.", "Versi formulir ini sudah ada dengan isi lain."),
    "form.bad_state": Problem(400, "A form state is open, closing or closed.",
                              "Status formulir harus open, closing atau closed."),
    # ---------------------------------------------------------------- submissions (phones)
    "submission.xml_conflict": Problem(409, "A different submission with this instanceID was "
                                       "already received.", "Data lain dengan nomor yang sama "
                                       "sudah diterima. Perubahan harus dikirim sebagai edit "
                                       "formulir."),
    "submission.attachment_conflict": Problem(409, "An attachment of that name was already "
                                              "received with other content.", "Lampiran dengan "
                                              "nama yang sama sudah diterima dengan isi berbeda."),
    "submission.bad_attachment_name": Problem(400, "An attachment's file name is not usable.",
                                              "Nama berkas lampiran tidak dapat dipakai."),
    "submission.role": Problem(403, "This account's role cannot submit forms.",
                               "Akun Anda tidak dapat mengirim formulir. " + _ASK),
    "submission.scope": Problem(403, "The submission is for a place outside the sender's scope.",
                                "Data ini untuk posyandu atau kelurahan di luar wilayah kerja "
                                "Anda. Periksa kode kelurahan dan nomor posyandu."),
    "submission.bad_posyandu_id": Problem(400, "posyandu_id is not a posyandu id.",
                                          "Nomor posyandu tidak valid. " + _FIX_FORM),
    "submission.nul": Problem(400, "Answers and ids may not contain NUL characters.",
                              "Ada karakter yang tidak sah dalam isian. " + _FIX_FORM),
    "submission.dtd": Problem(400, "A document type declaration is not accepted.",
                              "Berkas data tidak sah. " + _ASK),
    "submission.empty": Problem(400, "The submission is empty.", "Data yang dikirim kosong."),
    "submission.encoding": Problem(400, "The submission is not UTF-8.", "Berkas data tidak "
                                   "terbaca (bukan UTF-8)."),
    "submission.malformed_xml": Problem(400, "The submission is not well-formed XML.",
                                        "Berkas data rusak dan tidak terbaca. " + _ASK),
    "submission.no_form_id": Problem(400, "The submission does not say which form it is.",
                                     "Data tidak menyebut formulirnya. " + _ASK),
    "submission.no_instance_id": Problem(400, "The submission has no meta/instanceID.",
                                         "Data tidak memiliki nomor pengiriman (instanceID)."),
    "submission.bad_instance_id": Problem(400, "The instanceID is not usable.",
                                          "Nomor pengiriman (instanceID) tidak sah."),
    "submission.no_xml_part": Problem(400, "The upload has no xml_submission_file part.",
                                      "Kiriman tidak berisi berkas data formulir."),
    "submission.not_multipart": Problem(400, "A submission is sent as multipart/form-data.",
                                        "Kiriman harus berformat multipart/form-data."),
    "submission.bad_multipart": Problem(400, "The multipart body cannot be read.",
                                        "Kiriman rusak dan tidak terbaca. " + _SEND_AGAIN),
    "submission.too_large": Problem(413, "The submission is larger than the server accepts.",
                                    "Data terlalu besar (mungkin fotonya). Kecilkan ukuran foto "
                                    "lalu kirim lagi."),
    "submission.not_found": Problem(404, "No such submission.", "Data kiriman tidak ditemukan."),
    # ---------------------------------------------------------------- processing (admins)
    "submission.unprocessable": Problem(422, "The stored submission could not be processed.",
                                        "Data tersimpan tetapi belum dapat diolah. " + _FIX_FORM),
    "submission.missing_field": Problem(422, "A required answer is missing.",
                                        "Ada isian wajib yang kosong. " + _FIX_FORM),
    "submission.bad_number": Problem(422, "An answer is not a number.",
                                     "Ada isian angka yang tidak valid. " + _FIX_FORM),
    "submission.out_of_range": Problem(422, "A number is outside its plausible range.",
                                       "Ada angka di luar batas wajar. " + _FIX_FORM),
    "submission.bad_entity": Problem(422, "The submission's ODK entity block (meta/entity) cannot "
                                     "be applied.", "Data orang/rumah tangga di formulir ini tidak "
                                     "dapat diterapkan; petugas akan memeriksanya."),
    "submission.entity_scope": Problem(422, "The entity a submission updates is outside the "
                                       "sender's scope.", "Orang atau rumah tangga ini bukan "
                                       "wilayah kerja Anda. " + _ASK),
    "entity.unknown_list": Problem(400, "There is no such entity list.", "Daftar ini tidak ada "
                                   "di server. Perbarui formulir di ODK Collect."),
    "entity.bad_ids": Problem(400, "The integrity request names too many ids, or a malformed "
                              "one.", "Permintaan pemeriksaan daftar tidak valid. " + _ASK),
    "submission.bad_date": Problem(422, "An answer is not a date.", "Ada tanggal yang tidak "
                                   "valid. " + _FIX_FORM),
    "submission.future_date": Problem(422, "A date is in the future.", "Ada tanggal yang "
                                      "melewati hari ini. " + _FIX_FORM),
    "submission.bad_choice": Problem(422, "An answer is not one of the form's choices.",
                                     "Ada pilihan jawaban yang tidak dikenal. " + _FIX_FORM),
    "submission.bad_id": Problem(422, "A registry id is not valid.", "Nomor data registri tidak "
                                 "valid. " + _FIX_FORM),
    "submission.bad_kelurahan": Problem(422, "The kelurahan code is malformed.",
                                        "Kode kelurahan harus berformat 33.75.01.1002."),
    "submission.unknown_kelurahan": Problem(422, "The kelurahan code is not in the region list.",
                                            "Kode kelurahan tidak dikenal. " + _FIX_FORM),
    "submission.unknown_posyandu": Problem(422, "The posyandu id does not exist.",
                                           "Nomor posyandu tidak dikenal. " + _FIX_FORM),
    "submission.posyandu_elsewhere": Problem(422, "The posyandu is in another kelurahan.",
                                             "Posyandu ini ada di kelurahan lain. " + _FIX_FORM),
    "submission.birth_after_measurement": Problem(422, "The birth date is after the measurement "
                                                  "date.", "Tanggal lahir setelah tanggal "
                                                  "pengukuran. " + _FIX_FORM),
    "submission.edit_not_yours": Problem(422, "Only the sender of a submission can edit it.",
                                         "Hanya pengirim data asli yang dapat mengeditnya."),
    "submission.no_processor": Problem(422, "The server has no processing for this form.",
                                       "Server belum dapat mengolah formulir ini. " + _ASK),
    "submission.no_form": Problem(422, "The submission's form version is gone.",
                                  "Versi formulir data ini sudah tidak ada di server. " + _ASK),
    # ---------------------------------------------------------------- accounts
    "user.nik_full_not_agency": Problem(400, "Only agency accounts have NIKs masked; full NIK "
                                        "access is granted to agency accounts.",
                                        "Hanya akun instansi yang NIK-nya disamarkan."),
    "user.not_found": Problem(404, "No such user.", "Pengguna tidak ditemukan."),
    "user.exists": Problem(409, "A user of that name exists already.", "Nama pengguna ini sudah "
                           "dipakai."),
    "user.bad_username": Problem(400, "The username is not usable.", "Nama pengguna hanya boleh "
                                 "huruf, angka dan . _ @ - (1-64 karakter)."),
    "user.bad_role": Problem(400, "No such role.", "Peran harus kader, supervisor, agency atau "
                             "admin."),
    "user.bad_scope": Problem(400, "The scope is not a known wilayah code or posyandu.",
                              "Wilayah kerja tidak dikenal."),
    "user.no_scope": Problem(400, "Every user except an admin needs a scope.",
                             "Setiap pengguna selain admin memerlukan wilayah kerja."),
    "user.no_agency": Problem(400, "An agency user needs the agency's name.",
                              "Pengguna instansi memerlukan nama instansinya."),
    "user.too_long": Problem(400, "A field is too long.", "Isian terlalu panjang."),
    "user.weak_password": Problem(400, "The password is too short.", "Kata sandi minimal 8 "
                                  "karakter."),
    "user.inactive": Problem(403, "The account is disabled.", "Akun Anda sudah dinonaktifkan. "
                             + _ASK),
    "user.self_deactivate": Problem(403, "An admin cannot disable their own account.",
                                    "Anda tidak dapat menonaktifkan akun Anda sendiri."),
    "user.last_admin": Problem(409, "The last active admin cannot be disabled.",
                               "Admin aktif terakhir tidak dapat dinonaktifkan; aktifkan admin "
                               "lain terlebih dahulu."),
    "user.same_password": Problem(400, "The new password is the same as the current one.",
                                  "Kata sandi baru harus berbeda dari kata sandi saat ini."),
    "app_token.not_found": Problem(404, "No such device token.", "Kode perangkat tidak "
                                   "ditemukan."),
    "posyandu.exists": Problem(409, "That posyandu exists already.", "Posyandu dengan nama ini "
                               "sudah ada di kelurahan tersebut."),
    "posyandu.no_name": Problem(400, "A posyandu needs a name.", "Posyandu memerlukan nama."),
    "posyandu.not_found": Problem(404, "No such posyandu.", "Posyandu tidak ditemukan."),
    "posyandu.inactive": Problem(409, "The posyandu is no longer active.", "Posyandu ini sudah "
                                 "tidak aktif dan tidak menerima data atau kader baru. " + _ASK),
    # ---------------------------------------------------------------- Kobo hooks
    "kobo.hook_not_found": Problem(404, "Unknown Kobo hook.", "Hook Kobo tidak dikenal."),
    "kobo.no_secret": Problem(401, "The hook secret was not sent.", "Rahasia hook tidak dikirim."),
    "kobo.bad_secret": Problem(401, "Wrong hook secret.", "Rahasia hook salah."),
    "kobo.hook_disabled": Problem(403, "The Kobo hook is disabled.", "Hook Kobo ini dinonaktifkan."),
    "kobo.user_disabled": Problem(403, "The account the hook submits as is disabled.",
                                  "Akun pengirim hook ini tidak aktif."),
    "kobo.bad_json": Problem(400, "The body is not usable JSON.", "Isi kiriman bukan JSON yang "
                             "valid."),
    "kobo.bad_payload": Problem(400, "The Kobo payload must be a JSON object.",
                                "Isi kiriman Kobo harus objek JSON."),
    "kobo.no_instance_id": Problem(400, "The Kobo payload has neither meta/instanceID nor _uuid.",
                                   "Kiriman Kobo tidak memiliki nomor pengiriman."),
    "kobo.no_name": Problem(400, "A hook needs a name.", "Hook memerlukan nama."),
    "kobo.bad_form": Problem(400, "No such built-in form.", "Formulir tidak dikenal."),
    "kobo.bad_user": Problem(400, "The hook submits as a kader, supervisor or admin account.",
                             "Hook harus mengirim sebagai akun kader, supervisor atau admin."),
    # ---------------------------------------------------------------- regions
    "wilayah.not_found": Problem(404, "No such wilayah code.", "Kode wilayah tidak dikenal."),
    "wilayah.not_kelurahan": Problem(400, "The code is not a kelurahan or desa.",
                                     "Kode ini bukan kelurahan atau desa."),
    "wilayah.bad_file": Problem(400, "The region file cannot be read.", "Berkas wilayah tidak "
                                "terbaca."),
    "wilayah.bad_row": Problem(400, "A row of the region file is invalid.", "Ada baris berkas "
                               "wilayah yang tidak valid."),
    "wilayah.missing_parent": Problem(400, "A region's parent is not in the list.",
                                      "Induk wilayah belum ada dalam daftar."),
    "wilayah.bad_code": Problem(400, "Not a province or regency code (e.g. 33 or 33.75).",
                                "Bukan kode provinsi atau kabupaten/kota (mis. 33 atau 33.75)."),
    # ---------------------------------------------------------------- list filters
    "filter.date_range": Problem(400, "The date range ends before it starts.",
                                 "Rentang tanggal berakhir sebelum dimulai."),
    # ---------------------------------------------------------------- identity
    "duplicate.not_found": Problem(404, "No such duplicate candidate pair in your scope.",
                                   "Pasangan data ganda tidak ditemukan di wilayah Anda."),
    "duplicate.decided": Problem(409, "The pair was already merged or dismissed.",
                                 "Pasangan data ini sudah digabung atau ditolak sebelumnya."),
    "duplicate.bad_survivor": Problem(400, "survivor_id must be one of the pair's two records.",
                                      "Data yang dipertahankan harus salah satu dari pasangan "
                                      "ini."),
    "merge.same_record": Problem(400, "A record cannot be merged into itself.",
                                 "Data tidak dapat digabung dengan dirinya sendiri."),
    "merge.not_found": Problem(404, "No such record in your scope.",
                               "Data tidak ditemukan di wilayah Anda."),
    "merge.already_merged": Problem(409, "One of the records was already merged into another.",
                                    "Salah satu data sudah digabung ke data lain."),
    "merge.bad_values": Problem(400, "The merge's values name unknown fields or bad values.",
                                "Isian penggabungan tidak valid."),
    "merge.scope": Problem(400, "The merged record would be outside your scope.",
                           "Data hasil penggabungan akan berada di luar wilayah kerja Anda."),
    "merge.not_merged": Problem(404, "The record is not merged into another.",
                                "Data ini tidak sedang digabung ke data lain."),
    "merge.survivor_merged": Problem(409, "The survivor was merged again since: unmerge that "
                                     "first.", "Data tujuan sudah digabung lagi; batalkan "
                                     "penggabungan itu terlebih dahulu."),
    "person.not_found": Problem(404, "No such person in your scope.",
                                "Orang ini tidak ditemukan di wilayah Anda."),
    "household.not_found": Problem(404, "No such household in your scope.",
                                   "Keluarga ini tidak ditemukan di wilayah Anda."),
    "identity.number_search": Problem(403, "Searching by NIK or KK number needs full NIK "
                                      "access (an admin grants it to an agency account).",
                                      "Pencarian dengan NIK atau nomor KK memerlukan izin NIK "
                                      "lengkap dari admin."),
    # ---------------------------------------------------------------- sync
    "sync.bad_cursor": Problem(400, "The cursor is not one this server gave.",
                               "Kursor sinkronisasi tidak valid."),
    "sync.bad_limit": Problem(400, "The page size is out of range.", "Ukuran halaman di luar "
                              "batas."),
    "sync.reset_required": Problem(410, "The cursor can no longer be served (another scope, "
                                   "or not from this server): download the snapshot again.",
                                   "Data di HP perlu diunduh ulang dari awal."),
    "sync.bad_push": Problem(400, "The push envelope is malformed.", "Data sinkronisasi tidak "
                             "terbaca. " + _ASK),
    "conflict.not_found": Problem(404, "No such conflict in your scope.",
                                  "Konflik data tidak ditemukan di wilayah Anda."),
    "conflict.resolved": Problem(409, "The conflict is already resolved.",
                                 "Konflik data ini sudah diselesaikan."),
    "conflict.record_moved": Problem(409, "The record changed since you looked at it.",
                                     "Data sudah berubah sejak Anda membukanya; periksa lagi."),
    "conflict.bad_resolution": Problem(400, "The resolution is malformed.",
                                       "Pilihan penyelesaian konflik tidak valid."),
    # ---------------------------------------------------------------- console (#17)
    "console.csrf": Problem(403, "The form's security token is missing or does not match this "
                            "session: reload the page and try again.",
                            "Token keamanan formulir tidak ada atau tidak cocok; muat ulang "
                            "halaman lalu coba lagi."),
    "console.idle": Problem(401, "The session ended after a time without activity.",
                            "Sesi berakhir karena lama tidak dipakai; silakan masuk lagi."),
    "console.bad_session": Problem(401, "The session cookie is not valid.",
                                   "Sesi tidak valid; silakan masuk lagi."),
    # ---------------------------------------------------------------- caseloads (#16)
    "caseload.bad_period": Problem(400, "A period is a month written YYYY-MM.",
                                   "Periode harus berupa bulan dengan format TTTT-BB, mis. 2026-11."),
    "caseload.bad_level": Problem(400, "level is kelurahan, kecamatan, kabkota or provinsi.",
                                  "Tingkat wilayah harus kelurahan, kecamatan, kabkota atau provinsi."),
    "caseload.region_not_found": Problem(404, "No such region in your scope.",
                                         "Wilayah tidak ditemukan di wilayah kerja Anda."),
    "caseload.bad_program": Problem(400, "No such programme.",
                                    "Program tidak dikenal. Pilih salah satu program yang tersedia."),
    "caseload.program_not_granted": Problem(403, "Your account may not see or act on this "
                                            "programme's cases.",
                                            "Akun Anda tidak diberi izin untuk program ini. " + _ASK),
    "caseload.bad_cursor": Problem(400, "The cursor was not given by this list.",
                                   "Penanda halaman tidak valid; muat ulang daftar dari awal."),
    "caseload.bad_format": Problem(400, "format is json, csv or xlsx.",
                                   "Format harus json, csv atau xlsx."),
    "target.bad_value": Problem(400, "A target is a prevalence between 0 and 1 for a known "
                                "region (or ID for the national one) and a year.",
                                "Target harus angka prevalensi antara 0 dan 1 untuk wilayah dan "
                                "tahun yang benar."),
    "intervention.not_found": Problem(404, "No such intervention in your scope.",
                                      "Catatan intervensi tidak ditemukan di wilayah Anda."),
    "intervention.invalid": Problem(400, "The intervention is incomplete or has a bad value.",
                                    "Data intervensi belum lengkap atau ada nilai yang salah. "
                                    "Periksa lalu kirim lagi."),
    "intervention.subject_not_found": Problem(404, "No such person or household in your scope.",
                                              "Orang atau rumah tangga tidak ditemukan di "
                                              "wilayah kerja Anda."),
    "intervention.withdrawn": Problem(409, "The intervention was withdrawn.",
                                      "Catatan intervensi ini sudah ditarik."),
}


def status_of(code: str) -> int | None:
    problem = CATALOGUE.get(code)
    return problem.status if problem else None


def pesan(code: str) -> str | None:
    """The Bahasa Indonesia message for a code, or None."""
    problem = CATALOGUE.get(code)
    return problem.pesan if problem else None
