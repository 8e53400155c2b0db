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

/// <summary>
/// Enumerates the attributes of a message that <c>StunMessage.TryParse</c> accepted, in wire order, leaving out the
/// ones RFC 8489 says to ignore: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (§14.5), after
/// MESSAGE-INTEGRITY-SHA256 only FINGERPRINT (§14.6), after FINGERPRINT nothing (§14.7). Ignored attributes are
/// skipped, not reported: an on-path attacker who appends attributes behind the integrity of a replayed request
/// cannot make any accessor see them.
/// </summary>
internal ref struct StunAttributeEnumerator
{
    private readonly ReadOnlySpan<byte> _message;
    private int _next;
    private Stage _stage;
    private StunAttribute _current;

    internal StunAttributeEnumerator(ReadOnlySpan<byte> message)
    {
        _message = message;
        _next = StunHeader.Size;
        _stage = Stage.Open;
        _current = default;
    }

    /// <summary>Where the walk is relative to the integrity and fingerprint attributes.</summary>
    internal enum Stage : byte
    {
        /// <summary>Before any MESSAGE-INTEGRITY(-SHA256) or FINGERPRINT: everything counts.</summary>
        Open,

        /// <summary>After MESSAGE-INTEGRITY: only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count.</summary>
        AfterIntegrity,

        /// <summary>After MESSAGE-INTEGRITY-SHA256: only FINGERPRINT counts.</summary>
        AfterIntegritySha256,

        /// <summary>After FINGERPRINT: nothing counts.</summary>
        Closed,
    }

    /// <summary>The current attribute.</summary>
    public readonly StunAttribute Current => _current;

    /// <summary>Allows <c>foreach</c>.</summary>
    public readonly StunAttributeEnumerator GetEnumerator() => this;

    /// <summary>Moves to the next attribute that is not ignored.</summary>
    public bool MoveNext()
    {
        while (_stage != Stage.Closed && StunMessage.TryReadAttributeAt(_message, _next, out var attribute, out int next))
        {
            _next = next;
            if (Advance(ref _stage, attribute.Type))
            {
                _current = attribute;
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Decides whether an attribute of <paramref name="type"/> met at <paramref name="stage"/> counts, and moves the
    /// stage on when it is an integrity or fingerprint attribute that counts.
    /// </summary>
    internal static bool Advance(ref Stage stage, ushort type)
    {
        switch (stage)
        {
            case Stage.Open:
                stage = type switch
                {
                    StunAttributeType.MessageIntegrity => Stage.AfterIntegrity,
                    StunAttributeType.MessageIntegritySha256 => Stage.AfterIntegritySha256,
                    StunAttributeType.Fingerprint => Stage.Closed,
                    _ => Stage.Open,
                };
                return true;
            case Stage.AfterIntegrity when type == StunAttributeType.MessageIntegritySha256:
                stage = Stage.AfterIntegritySha256;
                return true;
            case Stage.AfterIntegrity or Stage.AfterIntegritySha256 when type == StunAttributeType.Fingerprint:
                stage = Stage.Closed;
                return true;
            default:
                return false;
        }
    }
}
