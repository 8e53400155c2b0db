namespace Firezone.Snownet.Stun;

/// <summary>One attribute of a parsed message: its type, its value (without padding) and its offset in the message.</summary>
internal readonly ref struct StunAttribute
{
    /// <summary>Creates an attribute view.</summary>
    public StunAttribute(ushort type, ReadOnlySpan<byte> value, int offset)
    {
        Type = type;
        Value = value;
        Offset = offset;
    }

    /// <summary>Attribute type code (see <see cref="StunAttributeType"/>).</summary>
    public ushort Type { get; }

    /// <summary>The value bytes, padding excluded.</summary>
    public ReadOnlySpan<byte> Value { get; }

    /// <summary>Offset of the attribute header from the start of the message.</summary>
    public int Offset { get; }

    /// <summary>True for comprehension-required types (0x0000–0x7FFF).</summary>
    public bool IsComprehensionRequired => Type < 0x8000;
}

/// <summary>Enumerates the attributes of a message that <c>StunMessage.TryParse</c> accepted.</summary>
internal ref struct StunAttributeEnumerator
{
    private readonly ReadOnlySpan<byte> _message;
    private int _next;
    private StunAttribute _current;

    internal StunAttributeEnumerator(ReadOnlySpan<byte> message)
    {
        _message = message;
        _next = StunHeader.Size;
        _current = default;
    }

    /// <summary>The current attribute.</summary>
    public readonly StunAttribute Current => _current;

    /// <summary>Allows <c>foreach</c>.</summary>
    public readonly StunAttributeEnumerator GetEnumerator() => this;

    /// <summary>Moves to the next attribute.</summary>
    public bool MoveNext()
    {
        if (!StunMessage.TryReadAttributeAt(_message, _next, out var attribute, out int next))
        {
            return false;
        }

        _current = attribute;
        _next = next;
        return true;
    }
}
