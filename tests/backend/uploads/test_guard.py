"""The upload guard (backend/uploads/guard.py): pixel bombs, decoding cost, files whose structure is
the attack, refused from the header before any pixel is decoded; what is ordinary still passes."""

import io

import pytest
from PIL import Image

from backend.uploads.guard import (
    BMP_RLE_MAX_PIXELS,
    HEIF_BYTES_PER_PIXEL,
    DecodeLimits,
    decode_within_limits,
)
from backend.uploads.layout import gif_blocks_start, read_layout
from bench import attacks
from bench.attacks import png_bomb
from bench.fixtures import encode, encoded_blank
from ml.images import ImageRejected
from tests.imagegen import gradient


def test_pixel_bomb_is_refused_before_decoding():
    with pytest.raises(ImageRejected) as caught:  # over our limit: refused from the header
        decode_within_limits(png_bomb(8000, 6000))
    assert caught.value.code == "image_too_large"
    assert caught.value.details["width"] == 8000 and caught.value.details["max_pixels"] == 40_000_000


def test_pixel_limit_is_configurable():
    with pytest.raises(ImageRejected):
        decode_within_limits(encode(gradient(100, 100), "PNG"), DecodeLimits(max_pixels=5000))
    picture = encode(gradient(100, 100), "PNG")
    assert decode_within_limits(picture, DecodeLimits(max_pixels=10000)).size == (100, 100)


def _insert(data: bytes, at: int, extra: bytes) -> bytes:
    return data[:at] + extra + data[at:]


FEW_ENTRIES = DecodeLimits(max_file_entries=1000)
# format -> (a file with more entries than FEW_ENTRIES allows, one with fewer)
MANY_ENTRIES = {
    "TIFF strip offsets": (lambda: attacks.tiff_strip_offsets(2000),
                           lambda: encoded_blank(64, 64, "TIFF")),
    "GIF comment blocks": (lambda: attacks.gif_comment_blocks(1000), lambda: attacks.gif_comment_blocks(250)),
    "GIF stray bytes": tuple(
        (lambda n=n: _insert(gif := encoded_blank(64, 64, "GIF", "P"), gif_blocks_start(gif),
                             bytes(n)))
        for n in (2000, 500)),
    "JPEG fill bytes": (lambda: attacks.jpeg_fill_bytes(2000), lambda: attacks.jpeg_fill_bytes(500)),
    "JPEG stray bytes": tuple(
        (lambda n=n: _insert(jpeg := encoded_blank(64, 64, "JPEG"), attacks.jpeg_after_app0(jpeg),
                             bytes(n)))
        for n in (2000, 500)),
    "PNG chunks": (lambda: attacks.png_empty_chunks(2000), lambda: attacks.png_empty_chunks(500)),
    "JPEG Photoshop resources": tuple(
        (lambda n=n: _insert(encoded_blank(64, 64, "JPEG"), 2,
                             b"\xff\xed" + (n + 16).to_bytes(2, "big") + b"Photoshop 3.0\x00" + bytes(n)))
        for n in (24_000, 6000)),
    "TIFF strip offsets typed BYTE": (lambda: attacks.tiff_strip_offsets(2000, field_type=1),
                                      lambda: encoded_blank(64, 64, "TIFF")),
    "TIFF Exif IFD": (lambda: attacks.tiff_exif_fractions(2000), lambda: attacks.tiff_exif_fractions(500)),
    "TIFF Exif IFD at a SHORT offset": tuple(
        (lambda n=n: attacks.tiff_exif_fractions(n, pointer_type=3)) for n in (2000, 500)),
    "PNG text chunk named exif": (lambda: attacks.png_text_exif(2000), lambda: attacks.png_text_exif(500)),
    "PNG raw profile of EXIF": (lambda: attacks.png_raw_profile_exif(300),
                                lambda: attacks.png_raw_profile_exif(60)),
    "PNG eXIf chunk": (lambda: attacks.png_exif_fractions(2000), lambda: attacks.png_exif_fractions(500)),
    "WEBP EXIF chunk": tuple(
        (lambda n=n: encode(Image.new("RGB", (64, 64)), "WEBP", exif=attacks.exif_fractions(n)))
        for n in (2000, 500)),
    "JPEG EXIF segments": (lambda: attacks.jpeg_exif_segments(600), lambda: attacks.jpeg_exif_segments(100)),
    "JPEG frame headers": (lambda: attacks.jpeg_frame_headers(1),
                           lambda: encoded_blank(64, 64, "JPEG")),
}


@pytest.mark.parametrize("name", MANY_ENTRIES)
@pytest.mark.filterwarnings("ignore:Metadata Warning")  # an orientation of 500 values, as meant
def test_files_with_too_many_entries_are_refused_before_pillow_parses_them(name):
    over, under = MANY_ENTRIES[name]
    with pytest.raises(ImageRejected) as caught:
        decode_within_limits(over(), FEW_ENTRIES)
    assert caught.value.code == "invalid_image"
    assert caught.value.details == {"format": name.split()[0], "max_file_entries": 1000}
    assert decode_within_limits(under(), FEW_ENTRIES).size == (64, 64)


def test_a_jpeg_in_several_scans_is_charged_its_full_coefficient_buffer():
    assert read_layout(attacks.jpeg_scan_per_component(64, 64), "JPEG", 1000).multiple_scans
    assert read_layout(encode(gradient(), "JPEG", progressive=True), "JPEG", 1000).multiple_scans
    assert not read_layout(encode(gradient(), "JPEG"), "JPEG", 1000).multiple_scans
    with pytest.raises(ImageRejected) as caught:  # 626 KB; 6324x6324x4 coefficients of 2 bytes
        decode_within_limits(attacks.jpeg_scan_per_component(6324, 6324, 4))
    assert caught.value.code == "image_too_large"
    assert caught.value.details["decode_bytes"] == 6328 * 6328 * 4 * 2
    assert min(decode_within_limits(attacks.jpeg_scan_per_component(2000, 1000)).size) >= 256


def test_a_camera_jpeg_with_a_thumbnail_is_one_scan():
    """A thumbnail inside the EXIF segment has scans of its own: the photo is still baseline."""
    exif = Image.Exif()
    exif[0x0112] = 1  # orientation: upright
    app1 = exif.tobytes() + encode(gradient(160, 120), "JPEG")
    segment = b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1
    photo = _insert(encode(gradient(640, 480), "JPEG"), 2, segment)
    assert photo.count(b"\xff\xda") == 2
    assert not read_layout(photo, "JPEG", 1000).multiple_scans
    assert decode_within_limits(photo).size == (640, 480)


def test_run_length_encoded_bmps_have_a_pixel_limit_of_their_own():
    with pytest.raises(ImageRejected) as caught:  # Pillow decodes them in Python
        decode_within_limits(attacks.bmp_rle_end_of_lines(2100, 1000))
    assert caught.value.code == "image_too_large" and caught.value.details["max_pixels"] == BMP_RLE_MAX_PIXELS
    assert decode_within_limits(attacks.bmp_rle_end_of_lines(200, 100)).size == (200, 100)


def test_an_uncompressed_tiff_is_read_strip_by_strip_once():
    """Pillow reads the strips of an uncompressed TIFF itself, each up to where the next begins."""
    with pytest.raises(ImageRejected, match="overlap") as caught:  # 2 MB; 13 s before, a byte at a time
        decode_within_limits(attacks.tiff_overlapping_strips())
    assert caught.value.code == "invalid_image"
    with pytest.raises(ImageRejected, match="needs 64"):  # 100 strips for 64 rows
        decode_within_limits(attacks.tiff_strip_offsets(100))
    assert decode_within_limits(attacks.tiff_overlapping_strips(strips=1)).size == (256, 512)  # box-shrunk


def test_an_rle_bmp_may_hold_no_more_codes_than_its_pixels_need():
    with pytest.raises(ImageRejected, match="more codes"):
        decode_within_limits(attacks.bmp_rle_no_op_codes(100_000))
    assert decode_within_limits(attacks.bmp_rle_no_op_codes(0)).size == (16, 16)
    # A V5 header's ICC profile after the codes is not codes.
    assert decode_within_limits(attacks.bmp_rle_no_op_codes(0, profile=bytes(3000))).size == (16, 16)


def test_a_tiff_tile_counts_in_the_decoding_memory():
    with pytest.raises(ImageRejected) as caught:  # a 16x16 picture in one 16384x16384 tile
        decode_within_limits(attacks.tiff_huge_tile())
    assert caught.value.code == "image_too_large" and caught.value.details["decode_bytes"] > 16384**2
    assert decode_within_limits(attacks.tiff_huge_tile(tile=256)).size == (16, 16)


def test_compressed_png_chunks_count_as_the_megabyte_they_may_inflate_to():
    with pytest.raises(ImageRejected) as caught:
        decode_within_limits(attacks.png_compressed_texts(70))
    assert caught.value.code == "invalid_image"
    assert decode_within_limits(attacks.png_compressed_texts(2)).size == (64, 64)


def test_png_text_is_measured_before_pillow_reads_it():
    """Text with one character past U+FFFF is kept at 4 bytes a character: 3 chunks of a megabyte
    would take 12 MB, refused before Pillow inflates any; 1 of them is read."""
    with pytest.raises(ImageRejected) as caught:
        decode_within_limits(attacks.png_wide_texts(3))
    assert caught.value.code == "invalid_image" and "text" in caught.value.message
    assert decode_within_limits(attacks.png_wide_texts(1)).size == (64, 64)
    assert read_layout(attacks.png_wide_texts(63), "PNG", 65536).refusal
    assert read_layout(attacks.png_wide_texts(3, flag=2), "PNG", 65536).refusal  # inflated too


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_ordinary_metadata_is_no_reason_to_refuse_a_picture(fmt):
    """EXIF with a maker note, an ICC profile and XMP, as cameras and editors write them."""
    from PIL import ImageCms

    exif = Image.Exif()
    exif[0x0112], exif[0x010F] = 6, "Camera maker"  # orientation: turned; make
    exif.get_ifd(0x8769)[0x927C] = bytes(40_000)  # a maker note
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    options = {"exif": exif, "icc_profile": icc}
    if fmt in ("JPEG", "WEBP"):
        options["xmp"] = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + b" " * 20_000 + b"</x:xmpmeta>"
    assert decode_within_limits(encode(gradient(640, 480), fmt, **options)).size == (480, 640)  # upright


def _heic(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "HEIF")
    return buffer.getvalue()


def test_a_heic_too_costly_to_decode_is_refused_from_its_header():
    """libheif's decoding takes about 8 bytes a pixel: a 12-megapixel iPhone photo (93 MB) fits
    the default budget; the same picture against a smaller budget is refused before decoding."""
    assert DecodeLimits().max_decode_bytes >= 4032 * 3024 * HEIF_BYTES_PER_PIXEL
    with pytest.raises(ImageRejected) as caught:
        decode_within_limits(_heic(gradient(400, 300)), DecodeLimits(max_decode_bytes=400 * 300 * 7))
    assert caught.value.code == "image_too_large"
    assert caught.value.details["decode_bytes"] == 400 * 300 * HEIF_BYTES_PER_PIXEL


def test_a_long_thin_picture_is_refused_for_its_shape():
    with pytest.raises(ImageRejected) as caught:
        decode_within_limits(encode(gradient(10, 2000), "PNG"))
    assert caught.value.code == "image_aspect_ratio"
