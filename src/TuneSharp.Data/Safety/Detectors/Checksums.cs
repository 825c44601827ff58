namespace TuneSharp.Data.Safety;

/// <summary>Check digits that tell a real card or account number from a random run of digits.</summary>
public static class Checksums
{
    /// <summary>The Luhn (mod 10) check of payment card numbers (ISO/IEC 7812-1): digits only.</summary>
    public static bool Luhn(ReadOnlySpan<char> digits)
    {
        int sum = 0;
        bool doubleIt = false;
        for (int i = digits.Length - 1; i >= 0; i--)
        {
            if (!char.IsAsciiDigit(digits[i])) return false;
            int d = digits[i] - '0';
            if (doubleIt && (d *= 2) > 9) d -= 9;
            sum += d;
            doubleIt = !doubleIt;
        }
        return digits.Length > 0 && sum % 10 == 0;
    }

    /// <summary>The IBAN check (ISO 13616 / ISO 7064 mod 97-10): move the first four characters to the end, letters to
    /// 10..35, the number mod 97 must be 1. <paramref name="iban"/> without spaces, upper case.</summary>
    public static bool IbanMod97(ReadOnlySpan<char> iban)
    {
        if (iban.Length < 15 || iban.Length > 34) return false;
        int remainder = 0;
        for (int k = 0; k < iban.Length; k++)
        {
            char c = iban[(k + 4) % iban.Length];
            if (char.IsAsciiDigit(c)) remainder = (remainder * 10 + (c - '0')) % 97;
            else if (char.IsAsciiLetterUpper(c)) remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
            else return false;
        }
        return remainder == 1;
    }

    /// <summary>Shannon entropy of the characters of <paramref name="s"/>, in bits per character.</summary>
    public static double Entropy(ReadOnlySpan<char> s)
    {
        if (s.Length == 0) return 0;
        var counts = new Dictionary<char, int>();
        foreach (char c in s) counts[c] = counts.GetValueOrDefault(c) + 1;
        double h = 0;
        foreach (int n in counts.Values)
        {
            double p = (double)n / s.Length;
            h -= p * Math.Log2(p);
        }
        return h;
    }
}
