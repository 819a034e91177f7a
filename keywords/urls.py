from django.urls import path

from keywords import views

app_name = "keywords"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.keyword_form, name="keyword_new"),
    path("<int:pk>/", views.keyword_detail, name="keyword"),
    path("<int:pk>/edit/", views.keyword_form, name="keyword_edit"),
    path("numbers/new/", views.number_form, name="number_new"),
    path("numbers/<int:pk>/", views.number_form, name="number_edit"),
    path("words/", views.standard_words, name="words"),
    path("words/reset/", views.standard_words_reset, name="words_reset"),
    path("providers/", views.provider_list, name="providers"),
    path("providers/new/", views.provider_form, name="provider_new"),
    path("providers/<int:pk>/", views.provider_form, name="provider_edit"),
]
