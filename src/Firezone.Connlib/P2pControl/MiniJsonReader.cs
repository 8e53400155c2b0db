using System.Text;

namespace Firezone.Connlib.P2pControl;

/// <summary>
/// A strict RFC 8259 reader for the small JSON bodies of p2p control packets, which arrive from peers: it never throws
/// (System.Text.Json's reader throws on malformed input, and a peer must not be able to make us throw), allocates only
/// the strings it returns, and bounds nesting at <see cref="MaxDepth"/>. Only what the body decoders need: objects,
/// strings, arrays of strings, and skipping any other value.
/// </summary>
internal ref struct MiniJsonReader
{
    /// <summary>Deepest nesting skipped.</summary>
    public const int MaxDepth = 16;

    private readonly ReadOnlySpan<byte> _json;
    private int _pos;

    public MiniJsonReader(ReadOnlySpan<byte> json)
    {
        _json = json;
        _pos = 0;
    }

    /// <summary>True when only whitespace is left.</summary>
    public bool AtEnd
    {
        get
        {
            SkipWhitespace();
            return _pos == _json.Length;
        }
    }

    /// <summary>Consumes <paramref name="c"/> (after whitespace); false if something else comes.</summary>
    public bool TryConsume(byte c)
    {
        SkipWhitespace();
        if (_pos < _json.Length && _json[_pos] == c)
        {
            _pos++;
            return true;
        }

        return false;
    }

    /// <summary>True when the next character (after whitespace) is <paramref name="c"/>, without consuming it.</summary>
    public bool Peek(byte c)
    {
        SkipWhitespace();
        return _pos < _json.Length && _json[_pos] == c;
    }

    /// <summary>Reads a string value; false when the input is not a well-formed string.</summary>
    public bool TryReadString(out string value)
    {
        value = string.Empty;
        SkipWhitespace();
        if (_pos >= _json.Length || _json[_pos] != '"')
        {
            return false;
        }

        _pos++;
        var builder = new StringBuilder();
        int runStart = _pos;
        while (_pos < _json.Length)
        {
            byte b = _json[_pos];
            if (b == '"')
            {
                if (!AppendUtf8(builder, _json[runStart.._pos]))
                {
                    return false;
                }

                _pos++;
                value = builder.ToString();
                return true;
            }

            if (b < 0x20)
            {
                return false; // control characters must be escaped
            }

            if (b != '\\')
            {
                _pos++;
                continue;
            }

            if (!AppendUtf8(builder, _json[runStart.._pos]) || !TryReadEscape(builder))
            {
                return false;
            }

            runStart = _pos;
        }

        return false;
    }

    /// <summary>Skips one value of any kind; false when it is malformed or nested deeper than <see cref="MaxDepth"/>.</summary>
    public bool TrySkipValue() => TrySkipValue(0);

    private bool TrySkipValue(int depth)
    {
        if (depth > MaxDepth)
        {
            return false;
        }

        SkipWhitespace();
        if (_pos >= _json.Length)
        {
            return false;
        }

        switch (_json[_pos])
        {
            case (byte)'"':
                return TryReadString(out _);
            case (byte)'{':
                _pos++;
                if (TryConsume((byte)'}'))
                {
                    return true;
                }

                do
                {
                    if (!TryReadString(out _) || !TryConsume((byte)':') || !TrySkipValue(depth + 1))
                    {
                        return false;
                    }
                }
                while (TryConsume((byte)','));

                return TryConsume((byte)'}');
            case (byte)'[':
                _pos++;
                if (TryConsume((byte)']'))
                {
                    return true;
                }

                do
                {
                    if (!TrySkipValue(depth + 1))
                    {
                        return false;
                    }
                }
                while (TryConsume((byte)','));

                return TryConsume((byte)']');
            case (byte)'t':
                return TryLiteral("true"u8);
            case (byte)'f':
                return TryLiteral("false"u8);
            case (byte)'n':
                return TryLiteral("null"u8);
            default:
                return TrySkipNumber();
        }
    }

    private bool TryLiteral(ReadOnlySpan<byte> literal)
    {
        if (!_json[_pos..].StartsWith(literal))
        {
            return false;
        }

        _pos += literal.Length;
        return true;
    }

    private bool TrySkipNumber()
    {
        if (_pos < _json.Length && _json[_pos] == '-')
        {
            _pos++;
        }

        if (_pos >= _json.Length || !IsDigit(_json[_pos]))
        {
            return false;
        }

        if (_json[_pos] == '0')
        {
            _pos++;
        }
        else
        {
            SkipDigits();
        }

        if (_pos < _json.Length && _json[_pos] == '.')
        {
            _pos++;
            if (_pos >= _json.Length || !IsDigit(_json[_pos]))
            {
                return false;
            }

            SkipDigits();
        }

        if (_pos < _json.Length && _json[_pos] is (byte)'e' or (byte)'E')
        {
            _pos++;
            if (_pos < _json.Length && _json[_pos] is (byte)'+' or (byte)'-')
            {
                _pos++;
            }

            if (_pos >= _json.Length || !IsDigit(_json[_pos]))
            {
                return false;
            }

            SkipDigits();
        }

        return true;
    }

    private void SkipDigits()
    {
        while (_pos < _json.Length && IsDigit(_json[_pos]))
        {
            _pos++;
        }
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private bool TryReadEscape(StringBuilder builder)
    {
        _pos++; // the backslash
        if (_pos >= _json.Length)
        {
            return false;
        }

        byte e = _json[_pos++];
        switch (e)
        {
            case (byte)'"': builder.Append('"'); return true;
            case (byte)'\\': builder.Append('\\'); return true;
            case (byte)'/': builder.Append('/'); return true;
            case (byte)'b': builder.Append('\b'); return true;
            case (byte)'f': builder.Append('\f'); return true;
            case (byte)'n': builder.Append('\n'); return true;
            case (byte)'r': builder.Append('\r'); return true;
            case (byte)'t': builder.Append('\t'); return true;
            case (byte)'u':
                if (!TryReadHex4(out char high))
                {
                    return false;
                }

                if (!char.IsSurrogate(high))
                {
                    builder.Append(high);
                    return true;
                }

                // A surrogate pair must come as two escapes (serde_json rejects lone surrogates).
                if (!char.IsHighSurrogate(high) || _pos + 1 >= _json.Length || _json[_pos] != '\\' || _json[_pos + 1] != 'u')
                {
                    return false;
                }

                _pos += 2;
                if (!TryReadHex4(out char low) || !char.IsLowSurrogate(low))
                {
                    return false;
                }

                builder.Append(high).Append(low);
                return true;
            default:
                return false;
        }
    }

    private bool TryReadHex4(out char value)
    {
        value = '\0';
        if (_pos + 4 > _json.Length)
        {
            return false;
        }

        int v = 0;
        for (int i = 0; i < 4; i++)
        {
            int d = HexValue(_json[_pos + i]);
            if (d < 0)
            {
                return false;
            }

            v = (v << 4) | d;
        }

        _pos += 4;
        value = (char)v;
        return true;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    private static bool AppendUtf8(StringBuilder builder, ReadOnlySpan<byte> run)
    {
        if (run.IsEmpty)
        {
            return true;
        }

        if (System.Text.Unicode.Utf8.IsValid(run) is false)
        {
            return false;
        }

        builder.Append(Encoding.UTF8.GetString(run));
        return true;
    }

    private void SkipWhitespace()
    {
        while (_pos < _json.Length && _json[_pos] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            _pos++;
        }
    }
}
