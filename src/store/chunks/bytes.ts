/**
 * Varints and a growable byte buffer for the chunk codec. Integers up to 2^53 (seqs and µs
 * timestamps fit): arithmetic instead of bit operators, which stop at 32 bits.
 */

export class ByteWriter {
  private buffer: Buffer;
  length = 0;

  constructor(capacity = 4096) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  /** an unsigned integer, 7 bits a byte */
  uvarint(value: number): void {
    this.reserve(8);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
  }

  /** a signed integer, zigzag: small negatives stay small */
  svarint(value: number): void {
    this.uvarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  float64(value: number): void {
    this.reserve(8);
    this.buffer.writeDoubleLE(value, this.length);
    this.length += 8;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  utf8(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  /** the bytes written; a view, valid until the writer is written again */
  result(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

export class ByteReader {
  offset = 0;

  constructor(readonly buffer: Buffer) {}

  byte(): number {
    const value = this.buffer[this.offset++];
    if (value === undefined) throw new Error('chunk: truncated');
    return value;
  }

  uvarint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  }

  svarint(): number {
    const zigzag = this.uvarint();
    return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
  }

  float64(): number {
    const value = this.buffer.readDoubleLE(this.offset);
    this.offset += 8;
    return value;
  }

  bytes(length: number): Buffer {
    if (this.offset + length > this.buffer.length) throw new Error('chunk: truncated');
    const slice = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  get done(): boolean {
    return this.offset >= this.buffer.length;
  }
}
