namespace Firezone.Connlib.Dns;

/// <summary>
/// Domain names in wire form (RFC 1035 §3.1, §4.1.4): reading a possibly compressed name into its uncompressed form,
/// skipping one, and formatting one in presentation form. Every method works on spans and allocates nothing; malformed
/// input (a label running past the message, a reserved label type, a pointer that does not point strictly backwards,
/// a name longer than 255 bytes) yields false, never an exception.
/// </summary>
internal static class DnsName
{
    /// <summary>The longest name in wire form (RFC 1035 §2.3.4), including the root label.</summary>
    public const int MaxWireLength = 255;

    /// <summary>An upper bound of <see cref="FormatPresentation"/>'s output (every byte escaped as <c>\DDD</c>).</summary>
    public const int MaxPresentationLength = MaxWireLength * 4;

    /// <summary>
    /// Reads the name at <paramref name="offset"/> of <paramref name="message"/>, following compression pointers, and
    /// writes its uncompressed wire form (labels and the root byte) to <paramref name="destination"/> (at least
    /// <see cref="MaxWireLength"/> bytes). <paramref name="end"/> is the offset right after the name where it is stored
    /// (after the first pointer, if any).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> message, int offset, Span<byte> destination, out int written, out int end)
    {
        written = 0;
        end = -1;
        int position = offset;
        int lowestPointerTarget = offset; // every pointer must point before the last one: no loops
        while (true)
        {
            if ((uint)position >= (uint)message.Length)
            {
                return false;
            }

            byte length = message[position];
            switch (length & 0xC0)
            {
                case 0x00:
                    if (written + length + 1 > MaxWireLength || written + length + 1 > destination.Length ||
                        position + 1 + length > message.Length)
                    {
                        return false;
                    }

                    destination[written++] = length;
                    if (length == 0)
                    {
                        if (end < 0)
                        {
                            end = position + 1;
                        }

                        return true;
                    }

                    message.Slice(position + 1, length).CopyTo(destination[written..]);
                    written += length;
                    position += 1 + length;
                    break;
                case 0xC0:
                    if (position + 1 >= message.Length)
                    {
                        return false;
                    }

                    int target = ((length & 0x3F) << 8) | message[position + 1];
                    if (target >= lowestPointerTarget)
                    {
                        return false;
                    }

                    if (end < 0)
                    {
                        end = position + 2;
                    }

                    lowestPointerTarget = target;
                    position = target;
                    break;
                default:
                    return false; // 0x40 and 0x80: extended and reserved label types
            }
        }
    }

    /// <summary>Skips the name at <paramref name="offset"/> (a compression pointer ends it); false when it is malformed or runs past the message.</summary>
    public static bool TrySkip(ReadOnlySpan<byte> message, int offset, out int end)
    {
        int position = offset;
        int total = 0;
        while (true)
        {
            if ((uint)position >= (uint)message.Length)
            {
                end = -1;
                return false;
            }

            byte length = message[position];
            if ((length & 0xC0) == 0xC0)
            {
                end = position + 2;
                return end <= message.Length;
            }

            if ((length & 0xC0) != 0)
            {
                end = -1;
                return false;
            }

            total += length + 1;
            if (total > MaxWireLength)
            {
                end = -1;
                return false;
            }

            position += 1 + length;
            if (length == 0)
            {
                end = position;
                return true;
            }
        }
    }

    /// <summary>
    /// Writes an uncompressed wire name in presentation form without the trailing dot (the root is the empty string),
    /// escaping as the Rust <c>domain</c> crate displays names (so patterns match the same text upstream matches):
    /// <c>.</c> and <c>\</c> as <c>\.</c> and <c>\\</c>, bytes outside 0x20–0x7E as <c>\DDD</c>. With
    /// <paramref name="lowercase"/> ASCII letters are lowered (DNS names compare case-insensitively). Returns the number
    /// of characters written, or -1 when <paramref name="destination"/> is too small or the name is malformed.
    /// </summary>
    public static int FormatPresentation(ReadOnlySpan<byte> wireName, Span<char> destination, bool lowercase)
    {
        int position = 0;
        int written = 0;
        while (position < wireName.Length)
        {
            int length = wireName[position];
            if (length == 0)
            {
                return written;
            }

            if (length > 63 || position + 1 + length > wireName.Length)
            {
                return -1;
            }

            if (written > 0)
            {
                if (written >= destination.Length)
                {
                    return -1;
                }

                destination[written++] = '.';
            }

            foreach (byte b in wireName.Slice(position + 1, length))
            {
                if (b is (byte)'.' or (byte)'\\')
                {
                    if (written + 2 > destination.Length)
                    {
                        return -1;
                    }

                    destination[written++] = '\\';
                    destination[written++] = (char)b;
                }
                else if (b < 0x20 || b > 0x7E)
                {
                    if (written + 4 > destination.Length)
                    {
                        return -1;
                    }

                    destination[written++] = '\\';
                    destination[written++] = (char)('0' + (b / 100));
                    destination[written++] = (char)('0' + (b / 10 % 10));
                    destination[written++] = (char)('0' + (b % 10));
                }
                else
                {
                    if (written >= destination.Length)
                    {
                        return -1;
                    }

                    char c = (char)b;
                    destination[written++] = lowercase && c is >= 'A' and <= 'Z' ? (char)(c + 32) : c;
                }
            }

            position += 1 + length;
        }

        return -1; // no root label
    }

    /// <summary>
    /// Encodes a presentation-form name (dots between labels, optional trailing dot, no escapes) into wire form with
    /// ASCII letters lowered; false for an empty label, a label over 63 bytes, a non-ASCII character or a name over
    /// 255 bytes. Used for configured names (known hosts), not on the packet path.
    /// </summary>
    public static bool TryEncode(ReadOnlySpan<char> name, Span<byte> destination, out int written)
    {
        written = 0;
        if (name.Length > 0 && name[^1] == '.')
        {
            name = name[..^1];
        }

        if (name.IsEmpty)
        {
            return false;
        }

        while (true)
        {
            int dot = name.IndexOf('.');
            var label = dot < 0 ? name : name[..dot];
            if (label.IsEmpty || label.Length > 63 || written + 1 + label.Length + 1 > Math.Min(MaxWireLength, destination.Length))
            {
                return false;
            }

            destination[written++] = (byte)label.Length;
            foreach (char c in label)
            {
                if (c > 0x7E || c <= 0x20 || c == '\\')
                {
                    return false;
                }

                destination[written++] = (byte)(c is >= 'A' and <= 'Z' ? c + 32 : c);
            }

            if (dot < 0)
            {
                destination[written++] = 0;
                return true;
            }

            name = name[(dot + 1)..];
        }
    }

    /// <summary>ASCII-lowers a wire name in place (label length bytes are below 64 and never change).</summary>
    public static void LowercaseInPlace(Span<byte> wireName)
    {
        foreach (ref byte b in wireName)
        {
            if (b is >= (byte)'A' and <= (byte)'Z')
            {
                b += 32;
            }
        }
    }
}
