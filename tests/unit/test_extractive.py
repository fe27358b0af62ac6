"""The extractive answerer on the sample help centre: it quotes what answers the question asked."""

from __future__ import annotations

import time

from services.orchestrator.extractive import extractive_answer
from services.orchestrator.questions import Question
from tests.support.help_centre import passages


def test_which_methods_gets_the_list_of_methods() -> None:
    found = passages(
        "PaymentMethods.md > Accepted payment methods",
        "PaymentMethods.md > Payment Methods",
        "PaymentMethods.md > Payment security",
    )
    answer = extractive_answer("What payment methods do you accept?", found)
    assert answer.startswith("According to our Payment Methods:")
    for method in ("Visa, Mastercard and American Express", "PayPal", "Alipay", "WeChat Pay"):
        assert f"\n- {method}" in answer or method in answer
    assert "Apple Pay" in answer and "gift cards" in answer


def test_tell_me_about_the_policy_states_the_return_windows() -> None:
    found = passages(
        "ReturnsAndExchanges.md > Exchanges",
        "ReturnsAndExchanges.md > Returns and Exchanges",
        "ReturnsAndExchanges.md > Return windows",
        "ReturnsAndExchanges.md > Inspection and refund",
    )
    answer = extractive_answer("Tell me about your return and exchange policy", found)
    assert answer.startswith("According to our Returns and Exchanges:")
    assert "Unopened, in original sealed packaging (any product): 30 days" in answer
    assert "Opened electronics accessories and small appliances: 15 days" in answer


def test_how_long_gets_the_duration_and_how_much_the_price() -> None:
    shipping = passages(
        "ShippingGuide.md > Shipping options and costs",
        "ShippingGuide.md > Processing and dispatch times",
    )
    assert "3-5 business days" in extractive_answer(
        "How long does standard shipping take?", shipping
    )
    assert "$14.99" in extractive_answer("How much does express shipping cost?", shipping)
    orders = passages(
        "OrderManagement.md > Changing an order", "OrderManagement.md > Cancelling an order"
    )
    edit = extractive_answer("how long can I still edit my order after placing it", orders)
    assert "60 minutes" in edit and len(edit) < 300
    warranty = passages(
        "WarrantyAndRepairs.md > How to make a warranty claim",
        "WarrantyAndRepairs.md > Warranty length",
    )
    assert "10-15 business days" in extractive_answer(
        "how long does a warranty repair take", warranty
    )


def test_how_long_gets_the_duration_stated_later_in_the_matching_paragraph() -> None:
    found = passages(
        "AccountAndSecurity.md > Two-factor authentication (2FA)",
        "AccountAndSecurity.md > Deleting your account",
    )
    answer = extractive_answer(
        "i lost my phone and backup codes, how long to get back into my account?", found
    )
    assert "If you lose your phone and your backup codes, contact support." in answer
    assert "Restoring access without 2FA takes 2-3 business days." in answer


def test_a_yes_no_question_gets_the_rule() -> None:
    found = passages(
        "ReturnsAndExchanges.md > Exchanges", "ReturnsAndExchanges.md > Returns and Exchanges"
    )
    answer = extractive_answer("can i exchange the same item a second time", found)
    assert "Each item can be exchanged once" in answer
    account = passages("AccountAndSecurity.md > Deleting your account")
    answer = extractive_answer("can i delete my account while a return is still open?", account)
    assert "You cannot delete your account while" in answer


def test_how_do_i_gets_the_steps_from_the_page_on_that_task() -> None:
    found = passages(
        "ProductCareAndSafety.md > Chargers and cables",
        "ReturnsAndExchanges.md > How to start a return",
    )
    answer = extractive_answer("how do I return the charger?", found)
    assert answer.startswith("According to our Returns and Exchanges:")
    assert "- Sign in and go to Account > Orders" in answer and "within 7 days" in answer


def test_a_chinese_question_quotes_the_chinese_section() -> None:
    found = passages(
        "ReturnsAndExchanges.md > 退换货说明 (中文)", "ReturnsAndExchanges.md > Return windows"
    )
    answer = extractive_answer("退货政策是什么", found)
    assert answer.startswith("根据我们的《Returns and Exchanges》：")
    assert "未拆封商品 30 天内可退" in answer and "Return window" not in answer
    assert "7 天" in extractive_answer("申请退货以后几天内要寄出去", found)


def test_a_chinese_question_on_an_english_page_quotes_the_english_facts() -> None:
    payment = passages(
        "PaymentMethods.md > Accepted payment methods", "PaymentMethods.md > Payment Methods"
    )
    answer = extractive_answer("你们支持哪些支付方式？", payment)
    assert answer.startswith("我们的《Payment Methods》页面（英文）写道：")
    assert "PayPal" in answer and "Alipay" in answer
    warranty = passages(
        "WarrantyAndRepairs.md > Warranty length", "WarrantyAndRepairs.md > Your legal rights"
    )
    assert "12 months" in extractive_answer("保修期多长", warranty)
    account = passages(
        "AccountAndSecurity.md > Resetting your password", "AccountAndSecurity.md > Locked accounts"
    )
    assert "30 minutes" in extractive_answer("密码重置链接多久有效", account)
    hours = passages(
        "ContactAndSupportHours.md > Ways to contact us",
        "ContactAndSupportHours.md > Support hours",
    )
    assert "09:00-21:00" in extractive_answer("人工客服几点上班", hours)


def test_a_chinese_yes_no_question_about_expiry_gets_the_rule_not_another_duration() -> None:
    payment = passages(
        "PaymentMethods.md > Gift cards", "PaymentMethods.md > Failed or declined payments"
    )
    answer = extractive_answer("礼品卡会过期吗", payment)  # do gift cards expire?
    assert "do not expire" in answer and "QR code" not in answer


def test_shop_words_name_what_chinese_customers_say() -> None:
    found = passages(
        "MembershipProgram.md > Points expiry",
        "MembershipProgram.md > Redeeming points",
        "MembershipProgram.md > Earning points",
    )
    # 评价 is "to evaluate" and 带图 is no headword: a shop reads "a review with a photo".
    assert "up to 5 reviews per month" in extractive_answer(
        "每个月最多能写几条带图评价拿积分", found
    )


def test_a_chinese_question_is_not_answered_from_another_pages_chinese_section() -> None:
    found = passages(
        "ContactAndSupportHours.md > Escalations and complaints",
        "ReturnsAndExchanges.md > 退换货说明 (中文)",
    )
    answer = extractive_answer("投诉多久会有答复", found)
    assert answer.startswith("我们的《Contact and Support Hours》页面（英文）写道：")
    assert "5 business days" in answer and "退货" not in answer


def test_a_chinese_question_is_answered_from_the_english_page_that_holds_the_fact() -> None:
    # The returns page's Chinese summary is retrieved first for any Chinese refund question;
    # it says nothing of cancelled orders, the order page does.
    found = passages(
        "ReturnsAndExchanges.md > 退换货说明 (中文)",
        "OrderManagement.md > Cancelling an order",
        "RefundPolicy.md > Refund timelines",
    )
    answer = extractive_answer("取消订单后退款多久到", found)
    assert answer.startswith("我们的《Order Management》页面（英文）写道：")
    assert "Refunds for cancelled orders are processed within 5-7 business days" in answer
    prices = passages(
        "ReturnsAndExchanges.md > 退换货说明 (中文)",
        "RefundPolicy.md > What is refunded",
        "RefundPolicy.md > Price adjustments",
    )
    answer = extractive_answer("买完就降价了，能退差价吗", prices)
    assert "within 7 days of your order date" in answer and "退货" not in answer


def test_a_how_many_question_gets_the_figure_over_a_better_worded_sentence() -> None:
    found = passages(
        "AccountAndSecurity.md > Two-factor authentication (2FA)",
        "AccountAndSecurity.md > Recognising phishing",
    )
    assert "10 backup codes" in extractive_answer("开双重验证会给几个备用码", found)


def test_a_misspelt_word_still_finds_its_sentence() -> None:
    found = passages(
        "WarrantyAndRepairs.md > Warranty and Repairs", "WarrantyAndRepairs.md > Warranty length"
    )
    assert "12 months" in extractive_answer("how long is the warrenty", found)


def test_a_which_question_answered_by_one_sentence_gets_that_sentence() -> None:
    found = passages(
        "Invoices.md > Downloading your invoice",
        "Invoices.md > Corrections, returns and credit notes",
    )
    answer = extractive_answer("which currencies are the invoices issued in", found)
    assert "USD, EUR or CNY" in answer


def test_shop_words_reach_the_english_sentence_that_answers() -> None:
    found = passages(
        "ContactAndSupportHours.md > Response times", "RefundPolicy.md > Refund timelines"
    )
    assert "within 24 hours" in extractive_answer("发邮件给客服多久能回复", found)
    claim = passages("WarrantyAndRepairs.md > How to make a warranty claim")
    answer = extractive_answer("维修要多长时间", claim)  # 维修 is "maintenance" in CC-CEDICT
    assert "Repairs take 10-15 business days" in answer and "reviews your claim" not in answer


def test_a_question_for_a_minimum_gets_the_sentence_stating_the_bound() -> None:
    found = passages(
        "AccountAndSecurity.md > Resetting your password",
        "AccountAndSecurity.md > Locked accounts",
        "AccountAndSecurity.md > Creating an account",
    )
    assert "at least 10 characters" in extractive_answer("whats the minimum password length", found)


def test_which_languages_gets_the_sentence_naming_them_not_the_list_of_channels() -> None:
    found = passages(
        "ContactAndSupportHours.md > Ways to contact us",
        "ContactAndSupportHours.md > Support hours",
    )
    for question in ("which languages can I get phone support in", "电话客服支持哪些语言"):
        assert "English and Simplified Chinese" in extractive_answer(question, found)


def test_an_english_question_is_not_answered_from_the_chinese_section() -> None:
    found = passages(
        "ShippingGuide.md > 中国大陆配送", "ShippingGuide.md > Shipping options and costs"
    )
    answer = extractive_answer("How much is express shipping?", found)
    assert "$14.99" in answer and "加急" not in answer


def test_the_answer_comes_from_the_best_page_when_nothing_shares_a_word() -> None:
    found = passages(
        "ReturnsAndExchanges.md > Exchanges", "ShippingGuide.md > Processing and dispatch times"
    )
    answer = extractive_answer("i want the blue one instead of the black, can i swap it", found)
    assert answer.startswith("According to our Returns and Exchanges: You can exchange an item")


def test_a_huge_question_is_answered_in_linear_time() -> None:
    found = passages("ShippingGuide.md > Shipping options and costs")
    for hostile in ("how long " * 2_000, "which " + "x" * 20_000 + " methods", "吗 " * 8_000):
        started = time.perf_counter()
        extractive_answer(hostile, found)
        assert time.perf_counter() - started < 5  # far above normal; catches a quadratic stall


def test_a_question_about_chargers_does_not_ask_for_a_price() -> None:
    assert "price" not in Question.read("are your chargers ok to use abroad").asks
    assert "price" in Question.read("is there a charge for returns").asks


def test_what_is_in_chinese_asks_what_not_whether() -> None:
    assert "yes_no" not in Question.read("客服邮箱是什么").asks  # 什么 ends in 么
    assert "yes_no" in Question.read("能退货么").asks
    found = passages(
        "ContactAndSupportHours.md > Ways to contact us",
        "ReturnsAndExchanges.md > How to start a return",
    )
    assert "support@northwindgoods.example" in extractive_answer("客服邮箱是什么", found)


def test_a_customers_word_meets_the_pages_word_for_the_same_thing() -> None:
    warranty = passages(
        "WarrantyAndRepairs.md > Out-of-warranty repairs",
        "WarrantyAndRepairs.md > What is not covered",
    )
    assert "Liquid damage" in extractive_answer("is water damage covered", warranty)
    contact = passages(
        "ContactAndSupportHours.md > Escalations and complaints",
        "ContactAndSupportHours.md > Support hours",
        "ContactAndSupportHours.md > Response times",
    )
    assert "within 24 hours" in extractive_answer("how fast do you guys answer emails", contact)


def test_a_plain_question_quotes_the_best_match_even_from_the_third_passage() -> None:
    found = passages(
        "MembershipProgram.md > Points and returns",
        "MembershipProgram.md > Redeeming points",
        "MembershipProgram.md > Things to know",
    )
    answer = extractive_answer("can I give my points to my sister's account", found)
    assert "cannot be transferred" in answer


def test_a_yes_no_question_after_a_statement_is_read_as_one() -> None:
    asked = Question.read("someone stole my earbuds out of my bag, does the warranty cover that?")
    assert "yes_no" in asked.asks
    assert "duration" not in Question.read("is the warranty still valid for me?").asks
    found = passages(
        "WarrantyAndRepairs.md > Warranty length", "WarrantyAndRepairs.md > What is not covered"
    )
    assert "Lost or stolen products" in extractive_answer(asked.text, found)


def test_what_happens_asks_for_the_consequence_not_for_things_that_happen() -> None:
    found = passages(
        "DeliveryTracking.md > Missed deliveries", "DeliveryTracking.md > My parcel is late"
    )
    answer = extractive_answer("what happens if the courier loses my package for good", found)
    assert "free replacement or give you a full refund" in answer
    assert "Delays sometimes happen" not in answer


def test_a_plain_question_quotes_what_matches_best_anywhere_on_the_page() -> None:
    found = passages(
        "RefundPolicy.md > How long until I see the money?",
        "RefundPolicy.md > Refund problems",
        "RefundPolicy.md > Refund timelines",
    )
    answer = extractive_answer("can you refund to a different card than the one I paid with", found)
    assert "We cannot refund to a different card" in answer


def test_a_mistyped_question_word_still_says_what_is_asked() -> None:
    assert "duration" in Question.read("how lond does standrd shiping take").asks
    assert "list" in Question.read("wat paymnt methods do u accept").asks


def test_a_chinese_question_quotes_another_pages_chinese_section_that_names_its_words() -> None:
    found = passages(
        "DeliveryTracking.md > My parcel is late",
        "ShippingGuide.md > 中国大陆配送",
    )
    answer = extractive_answer("满多少包邮", found)  # the tracking page ranked first
    assert answer.startswith("根据我们的《Shipping Guide》") and "¥349" in answer
