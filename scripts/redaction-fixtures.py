#!/usr/bin/env python3
"""Makes the picture fixtures of the redaction tests and benchmark.

- plates/*.png: Chinese licence plates drawn to the national standard's layout
  (440 x 140 mm, seven characters 45 x 90 mm; blue with white, yellow with black,
  green new-energy plates with eight characters), rendered with the WenQuanYi Micro
  Hei font (Debian's fonts-wqy-microhei). Numbers are invented.
- astronaut.jpg, face.png: scikit-image's `astronaut.png` (NASA photograph of
  Eileen Collins, public domain) as JPEG, and the face cut from it.
- coffee.jpg: scikit-image's `coffee.png` (Rachel Michetti, CC0), a background.

Needs Pillow and the scikit-image wheel's data folder:
  pip download --no-deps scikit-image && unzip it, then
  scripts/redaction-fixtures.py SKIMAGE_DATA_DIR OUT_DIR
"""
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
W, H = 440, 140


def glyph(ch, w, h):
    f = ImageFont.truetype(FONT, 120)
    im = Image.new("L", (160, 160), 0)
    ImageDraw.Draw(im).text((10, -10), ch, font=f, fill=255)
    return im.crop(im.getbbox()).resize((w, h))


def plate(text, bg, fg):
    im = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(im)
    d.rounded_rectangle([5, 5, W - 6, H - 6], radius=12, outline=fg, width=4)
    if len(text) == 7:
        xs, cw = [15.5, 72.5, 151.5, 208.5, 265.5, 322.5, 379.5], 45
        dot = 135
    else:
        xs, cw = [15, 64, 130, 174, 218, 262, 306, 350], 43
        dot = 112
    for ch, x in zip(text, xs):
        im.paste(fg, (int(x), 25), glyph(ch, cw, 90))
    d.ellipse([dot - 4, 66, dot + 4, 74], fill=fg)
    return im


def main():
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    (out / "plates").mkdir(parents=True, exist_ok=True)
    rnd = random.Random(7)
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    provinces = "鲁京冀豫苏沪粤浙"
    kinds = [((0x1F, 0x4E, 0xB4), (245, 245, 245)), ((0xF2, 0xC2, 0x1A), (20, 20, 20))]
    for i in range(10):
        prov = provinces[i % len(provinces)]
        tail = "".join(rnd.choice(letters + "0123456789") for _ in range(5))
        bg, fg = kinds[i % 2]
        plate(prov + rnd.choice(letters) + tail, bg, fg).save(out / "plates" / f"plate{i}.png")
    for i in range(2):
        tail = rnd.choice("DF") + "".join(rnd.choice("0123456789") for _ in range(5))
        im = plate("鲁P" + tail, (0x7C, 0xD3, 0x8C), (20, 20, 20))
        im.save(out / "plates" / f"green{i}.png")
    astro = Image.open(src / "astronaut.png").convert("RGB")
    astro.save(out / "astronaut.jpg", quality=92)
    astro.crop((160, 40, 290, 200)).save(out / "face.png")
    Image.open(src / "coffee.png").convert("RGB").save(out / "coffee.jpg", quality=90)


main()
